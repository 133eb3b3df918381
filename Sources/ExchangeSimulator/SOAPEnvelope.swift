/// Writes SOAP 1.1 envelopes shaped like Exchange 2019's: `ServerVersionInfo` in the header of every
/// response (faults included), `m:`/`t:` prefixes, `ResponseClass`/`ResponseCode` per message.
enum SOAPEnvelope {
    /// Exchange Server 2019 CU14.
    static let serverVersion: [(String, String)] = [
        ("MajorVersion", "15"), ("MinorVersion", "2"), ("MajorBuildNumber", "1544"), ("MinorBuildNumber", "4"),
        ("Version", "V2017_07_11"),
    ]

    static func begin(_ w: inout XMLWriter) {
        w.raw(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Header>"
        )
        w.empty(
            "h:ServerVersionInfo",
            serverVersion + [
                ("xmlns:h", NS.types), ("xmlns", NS.types),
                ("xmlns:xsd", "http://www.w3.org/2001/XMLSchema"),
                ("xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance"),
            ])
        w.raw(
            "</s:Header><s:Body xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\">"
        )
    }

    static func end(_ w: inout XMLWriter) { w.raw("</s:Body></s:Envelope>") }

    /// `<m:OpResponse ...><m:ResponseMessages>` … `</m:ResponseMessages></m:OpResponse>` around `body`.
    static func response(_ op: String, capacity: Int = 4096, _ body: (inout XMLWriter) -> Void) -> [UInt8] {
        var w = XMLWriter(capacity: capacity)
        begin(&w)
        w.open("m:\(op)Response", [("xmlns:m", NS.messages), ("xmlns:t", NS.types)])
        w.open("m:ResponseMessages")
        body(&w)
        w.close("m:ResponseMessages")
        w.close("m:\(op)Response")
        end(&w)
        return w.bytes
    }

    /// Opens a successful `<m:OpResponseMessage>` and writes `NoError`.
    static func openSuccess(_ w: inout XMLWriter, _ op: String) {
        w.open("m:\(op)ResponseMessage", [("ResponseClass", "Success")])
        w.leaf("m:ResponseCode", "NoError")
    }

    /// Opens an error `<m:OpResponseMessage>` with MessageText, ResponseCode, DescriptiveLinkKey, MessageXml.
    static func openError(_ w: inout XMLWriter, _ op: String, _ error: any Error) {
        let f = EWSFailure(error)
        w.open("m:\(op)ResponseMessage", [("ResponseClass", "Error")])
        w.leaf("m:MessageText", f.message)
        w.leaf("m:ResponseCode", f.code)
        w.leaf("m:DescriptiveLinkKey", "0")
        if !f.messageXml.isEmpty {
            w.open("m:MessageXml")
            for (k, v) in f.messageXml { w.open("t:Value", [("Name", k)]); w.text(v); w.close("t:Value") }
            w.close("m:MessageXml")
        }
    }

    /// A complete error message without operation-specific children.
    static func error(_ w: inout XMLWriter, _ op: String, _ f: any Error) {
        openError(&w, op, f)
        // ItemInfoResponseMessageType requires Items even on errors; Exchange sends it empty.
        if op == "GetItem" || op == "CreateItem" || op == "UpdateItem" { w.empty("m:Items") }
        w.close("m:\(op)ResponseMessage")
    }

    /// A SOAP fault as Exchange sends it (HTTP 500): faultcode `a:Code`, detail with
    /// `e:ResponseCode`, `e:Message` and optional `t:MessageXml`.
    static func fault(_ f: EWSFailure, faultcode: String? = nil) -> [UInt8] {
        var w = XMLWriter(capacity: 1024)
        begin(&w)
        w.open("s:Fault")
        if let faultcode {
            w.leaf("faultcode", faultcode)
        } else {
            w.open("faultcode", [("xmlns:a", NS.types)]); w.text("a:" + f.code); w.close("faultcode")
        }
        w.open("faultstring", [("xml:lang", "en-US")]); w.text(f.message); w.close("faultstring")
        w.open("detail")
        w.open("e:ResponseCode", [("xmlns:e", NS.errors)]); w.text(f.code); w.close("e:ResponseCode")
        w.open("e:Message", [("xmlns:e", NS.errors)]); w.text(f.message); w.close("e:Message")
        if !f.messageXml.isEmpty {
            w.open("t:MessageXml", [("xmlns:t", NS.types)])
            for (k, v) in f.messageXml { w.open("t:Value", [("Name", k)]); w.text(v); w.close("t:Value") }
            w.close("t:MessageXml")
        }
        w.close("detail")
        w.close("s:Fault")
        end(&w)
        return w.bytes
    }
}
