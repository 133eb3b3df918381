import ArgumentParser
import ExchangeSimulator
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Measures what the simulator serves over loopback HTTP: CreateItem and GetItem in 1,000-item batches.
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print CreateItem and GetItem items/s served for 1,000-item batches.")

    @Option(help: "Batches per operation.") var batches = 10
    @Option(help: "Items per batch.") var batchSize = 1000

    func run() async throws {
        let sim = try await Simulator.start()
        defer { Task { try? await sim.shutdown() } }
        let account = SimulatorConfiguration.defaultAccount
        let auth = "Basic " + Data("\(account.user):\(account.password)".utf8).base64EncodedString()
        let session = URLSession(configuration: .ephemeral)
        func post(_ body: String) async throws -> Data {
            var req = URLRequest(url: URL(string: sim.endpoint)!)
            req.httpMethod = "POST"
            req.setValue("text/xml; charset=utf-8", forHTTPHeaderField: "Content-Type")
            req.setValue(auth, forHTTPHeaderField: "Authorization")
            req.httpBody = Data(body.utf8)
            let (data, response) = try await session.data(for: req)
            guard (response as? HTTPURLResponse)?.statusCode == 200 else { throw ValidationError("HTTP error from simulator") }
            return data
        }
        func envelope(_ op: String) -> String {
            """
            <?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" \
            xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" \
            xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><s:Header>\
            <t:RequestServerVersion Version="Exchange2016"/></s:Header><s:Body>\(op)</s:Body></s:Envelope>
            """
        }
        var ids: [[String]] = []
        var createSeconds = 0.0
        for b in 0..<batches {
            var items = ""
            for i in 0..<batchSize {
                let n = b * batchSize + i
                items += "<t:Contact><t:Subject>Contact \(n)</t:Subject><t:Body BodyType=\"Text\">Notes for contact \(n) — Zoë &amp; Łukasz</t:Body>"
                    + "<t:GivenName>Given\(n)</t:GivenName><t:CompanyName>Contoso</t:CompanyName>"
                    + "<t:EmailAddresses><t:Entry Key=\"EmailAddress1\">c\(n)@example.org</t:Entry></t:EmailAddresses>"
                    + "<t:PhoneNumbers><t:Entry Key=\"BusinessPhone\">+1 555 \(n)</t:Entry></t:PhoneNumbers>"
                    + "<t:JobTitle>Buyer</t:JobTitle><t:Surname>Surname\(n)</t:Surname></t:Contact>"
            }
            let body = envelope("<m:CreateItem><m:SavedItemFolderId><t:DistinguishedFolderId Id=\"contacts\"/></m:SavedItemFolderId><m:Items>\(items)</m:Items></m:CreateItem>")
            let t0 = Date()
            let data = try await post(body)
            createSeconds += Date().timeIntervalSince(t0)
            let text = String(decoding: data, as: UTF8.self)
            ids.append(text.components(separatedBy: "<t:ItemId Id=\"").dropFirst().map { String($0.prefix { $0 != "\"" }) })
        }
        var getSeconds = 0.0
        var fetched = 0
        for batch in ids {
            let body = envelope("<m:GetItem><m:ItemShape><t:BaseShape>AllProperties</t:BaseShape></m:ItemShape><m:ItemIds>"
                + batch.map { "<t:ItemId Id=\"\($0)\"/>" }.joined() + "</m:ItemIds></m:GetItem>")
            let t0 = Date()
            let data = try await post(body)
            getSeconds += Date().timeIntervalSince(t0)
            fetched += String(decoding: data, as: UTF8.self).components(separatedBy: "<t:Contact>").count - 1
        }
        let created = batches * batchSize
        print("exchange-sim bench: \(batches) batches of \(batchSize) contacts over loopback HTTP")
        print(String(format: "CreateItem: %.0f items/s (%d items in %.2f s)", Double(created) / createSeconds, created, createSeconds))
        print(String(format: "GetItem:    %.0f items/s (%d items in %.2f s)", Double(fetched) / getSeconds, fetched, getSeconds))
        try await sim.shutdown()
    }
}
