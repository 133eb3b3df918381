/// Receives the events of a streaming parse. Names, attributes and text are views into the parser's
/// buffers, valid only during the call: copy what you keep. Throwing stops the parse; the parse then
/// fails with an ``XMLError`` of code ``XMLError/Code/handler`` that carries the thrown error.
public protocol XMLEventHandler: AnyObject {
    /// An element starts.
    func startElement(_ name: XMLName, attributes: XMLAttributes) throws
    /// An element ends.
    func endElement(_ name: XMLName) throws
    /// Character data (text or CDATA) of the current element; may arrive in several pieces.
    func characters(_ text: UnsafeBufferPointer<UInt8>) throws
}
