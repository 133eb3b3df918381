@testable import HTTP
import Testing

@Suite struct HTTPErrorTests {
    @Test(arguments: [
        ("https://mail.example.com/EWS/Exchange.asmx", "https://mail.example.com/EWS/Exchange.asmx"),
        ("https://bob:pa%40ss@mail.example.com:8443/EWS?x=1#f", "https://mail.example.com:8443/EWS"),
        ("http://u@host", "http://host"),
        ("http://host/path@not-userinfo", "http://host/path@not-userinfo"),
        ("https://host/?access_token=abc", "https://host/"),
        ("not a url?secret", "not a url"),
    ])
    func urlsLoseUserinfoQueryAndFragment(url: String, expected: String) {
        #expect(redactedURL(url) == expected)
        #expect(HTTPError(code: .other, url: url).url == expected)
    }

    @Test func descriptionNamesCodeStatusCurlCodeAndURL() {
        let error = HTTPError(code: .timedOut, curlCode: 28, url: "https://a:b@host/p?q", message: "too slow")
        #expect(error.description == "HTTP error timedOut (curl 28): too slow [https://host/p]")
        #expect(HTTPError(code: .httpStatus, status: 503).description == "HTTP error httpStatus (status 503)")
    }

    @Test func codesAreComparable() {
        #expect(HTTPError.Code.tls == .tls)
        #expect(HTTPError.Code.tls != .timedOut)
        #expect("\(HTTPError.Code.responseTooLarge)" == "responseTooLarge")
    }

    @Test func authenticationDescriptionsRedactSecrets() {
        #expect(
            "\(HTTPAuthentication.basic(username: "alice", password: "pw"))"
                == "basic(username: alice, password: <redacted>)")
        #expect("\(HTTPAuthentication.bearer(token: "t0k"))" == "bearer(token: <redacted>)")
        #expect(!String(reflecting: HTTPAuthentication.ntlm(username: "D\\u", password: "pw9")).contains("pw9"))
    }

    @Test func secretsAreRedactedFromText() {
        #expect("user pw-1 and pw-1".redacting(["pw-1", ""]) == "user <redacted> and <redacted>")
    }
}
