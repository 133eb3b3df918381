import Foundation
import HTTP
import Logging
import Testing
import TestSupport

/// An HTTP proxy in front of the Exchange simulator that forwards every request and, when told to, damages the
/// answer to a GetItem request that asks for one chosen item, in one of the ways a real server, a middlebox or a
/// broken mailbox store produces. The simulator itself stays a faithful model of Exchange.
final class CorruptingEWSProxy: Sendable {
    /// How the chosen item's answer is damaged.
    enum Corruption: String, Sendable, CaseIterable, CustomTestStringConvertible {
        /// An element of the item closed by another name (the parser stops).
        case malformedXML
        /// Bytes that are not UTF-8 in a text of the item.
        case invalidUTF8
        /// `&#x1;`, a character XML 1.0 does not allow, in a text of the item.
        case illegalCharacterReference
        /// The item is padded until the answer is over the client's size limit (``oversizeBytes``).
        case oversized
        /// The whole answer is a SOAP fault with a code no client knows.
        case unknownSOAPFault
        /// The item's `t:Start` element is left out.
        case withoutStart
        /// The item's `t:Start` says something that is not a dateTime.
        case unreadableStart
        /// The item's `t:Status` element is left out.
        case withoutStatus
        /// The item's `t:Status` says something no Exchange says.
        case unknownStatus

        var testDescription: String { rawValue }
    }

    /// What ``Corruption/oversized`` adds to the answer.
    static let oversizeBytes = 3 << 20

    let server: LoopbackHTTPServer
    private let client: HTTPClient
    private let target: SharedValue<(itemID: String, corruption: Corruption)?>
    private let damaged: SharedValue<Int>

    /// The EWS endpoint to give the client under test.
    var endpoint: String { server.baseURL + "/EWS/Exchange.asmx" }

    /// How many answers were damaged so far.
    var damagedAnswers: Int { damaged.withLock { $0 } }

    init(forwardingTo upstream: String, logger: Logger) async throws {
        var http = HTTPClient.Configuration()
        http.proxy = .direct
        http.keepsCookies = false
        http.maxResponseBytes = 256 << 20
        let client = try HTTPClient(configuration: http, logger: logger)
        let target = SharedValue<(itemID: String, corruption: Corruption)?>(nil)
        let damaged = SharedValue(0)
        self.client = client
        self.target = target
        self.damaged = damaged
        server = try await LoopbackHTTPServer(asyncHandler: { request in
            var headers = HTTPHeaders()
            for (name, value) in request.headers
            where !["host", "content-length", "connection"].contains(name.lowercased()) {
                headers.add(name: name, value: value)
            }
            let forwarded = HTTPRequest(
                method: HTTPMethod(rawValue: request.method) ?? .post, url: upstream, headers: headers,
                body: request.body, isIdempotent: true)
            let response: HTTPResponse
            do { response = try await client.execute(forwarded) } catch {
                return LoopbackHTTPServer.Response(status: 502, text: "proxy: \(error)")
            }
            var answer = LoopbackHTTPServer.Response(
                status: response.status,
                headers: response.headers.filter { $0.name.lowercased() == "content-type" }.map { ($0.name, $0.value) },
                body: response.body)
            guard let (itemID, corruption) = target.withLock({ $0 }),
                request.header("SOAPAction")?.hasSuffix("/GetItem\"") == true,
                Self.contains(request.body, Array("Id=\"\(itemID)\"".utf8)),
                let corrupted = Self.corrupt(answer.body, itemID: itemID, corruption)
            else { return answer }
            damaged.withLock { $0 += 1 }
            if corruption == .unknownSOAPFault { answer.status = 500 }
            answer.body = corrupted
            return answer
        })
    }

    /// From now on, damages the answers that carry `itemID` (nil: forwards everything as it is).
    func corrupt(_ itemID: String?, _ corruption: Corruption) {
        target.withLock { $0 = itemID.map { ($0, corruption) } }
    }

    func shutdown() async throws {
        try await server.shutdown()
        client.shutdown()
    }

    // MARK: damaging an answer

    static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool { range(of: needle, in: haystack) != nil }

    static func range(of needle: [UInt8], in haystack: [UInt8], from start: Int = 0) -> Range<Int>? {
        guard !needle.isEmpty, haystack.count >= needle.count, start <= haystack.count - needle.count else {
            return nil
        }
        var i = start
        while i <= haystack.count - needle.count {
            if haystack[i] == needle[0], haystack[i..<i + needle.count].elementsEqual(needle) {
                return i..<i + needle.count
            }
            i += 1
        }
        return nil
    }

    /// The answer with the item's part damaged; nil when the item is not in it.
    static func corrupt(_ body: [UInt8], itemID: String, _ corruption: Corruption) -> [UInt8]? {
        guard let idAttribute = range(of: Array("Id=\"\(itemID)\"".utf8), in: body),
            let idEnd = range(of: Array("/>".utf8), in: body, from: idAttribute.upperBound)
        else { return nil }
        let inside = idEnd.upperBound  // right after the item's t:ItemId element
        func inserting(_ bytes: [UInt8]) -> [UInt8] { Array(body[..<inside]) + bytes + Array(body[inside...]) }
        func text(_ bytes: [UInt8]) -> [UInt8] { Array("<t:Culture>".utf8) + bytes + Array("</t:Culture>".utf8) }
        func element(_ name: String) -> Range<Int>? {
            guard let open = range(of: Array("<t:\(name)>".utf8), in: body, from: inside),
                let close = range(of: Array("</t:\(name)>".utf8), in: body, from: open.upperBound)
            else { return nil }
            let itemEnd =
                [
                    range(of: Array("</t:CalendarItem>".utf8), in: body, from: inside),
                    range(of: Array("</t:Task>".utf8), in: body, from: inside),
                ].compactMap { $0?.lowerBound }.min() ?? body.count
            return close.upperBound <= itemEnd ? open.lowerBound..<close.upperBound : nil
        }
        switch corruption {
        case .malformedXML:
            return inserting(Array("<t:Culture>en-US</t:Location>".utf8))
        case .invalidUTF8:
            return inserting(text([0x65, 0x6E, 0xC3, 0x28, 0xFF, 0xFE]))
        case .illegalCharacterReference:
            return inserting(text(Array("en&#x1;US".utf8)))
        case .oversized:
            return inserting(text([UInt8](repeating: UInt8(ascii: "x"), count: oversizeBytes)))
        case .unknownSOAPFault:
            return Array(
                """
                <?xml version="1.0" encoding="utf-8"?>
                <s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault>\
                <faultcode xmlns:a="http://schemas.microsoft.com/exchange/services/2006/types">a:ErrorStoreCorruptedItem</faultcode>\
                <faultstring xml:lang="en-US">The item cannot be read.</faultstring><detail>\
                <e:ResponseCode xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">ErrorStoreCorruptedItem</e:ResponseCode>\
                <e:Message xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">The item cannot be read.</e:Message>\
                </detail></s:Fault></s:Body></s:Envelope>
                """.utf8)
        case .withoutStart, .withoutStatus:
            guard let found = element(corruption == .withoutStart ? "Start" : "Status") else { return nil }
            return Array(body[..<found.lowerBound]) + Array(body[found.upperBound...])
        case .unknownStatus, .unreadableStart:
            let (name, value) = corruption == .unknownStatus ? ("Status", "Postponed") : ("Start", "next Tuesday")
            guard let found = element(name) else { return nil }
            return Array(body[..<found.lowerBound]) + Array("<t:\(name)>\(value)</t:\(name)>".utf8)
                + Array(body[found.upperBound...])
        }
    }
}
