/// MAPI properties Exchange computes from an item's or folder's own data ([MS-OXPROPS]): a property tag or named
/// property that is another name of a first-class property (one stored value, read and compared in MAPI's form),
/// or a value the store derives. Any other extended property is stored as the client wrote it.
enum MAPIProperty: Sendable {
    /// The item element `name`, in MAPI's form.
    case field(String, Form)
    /// `PR_INTERNET_ARTICLE_NUMBER` (0x0E23): a number per item, increasing in creation order.
    case articleNumber
    /// `PR_URL_COMP_NAME` (0x10F3): the item's name in the folder's URL space.
    case urlCompName
    /// Folder properties: `PR_CONTAINER_CLASS` (0x3613), `PR_CONTENT_COUNT` (0x3602), `PR_CONTENT_UNREAD` (0x3603).
    case containerClass, contentCount, contentUnread

    enum Form: Sendable { case text, sensitivity, boolean }

    /// By normalised extended property key (`ExtendedProperty.key(of:)`).
    static let byKey: [String: MAPIProperty] = [
        "tag:26:String": .field("ItemClass", .text),  // PR_MESSAGE_CLASS 0x001A
        "tag:54:Integer": .field("Sensitivity", .sensitivity),  // PR_SENSITIVITY 0x0036
        "tag:12296:SystemTime": .field("LastModifiedTime", .text),  // PR_LAST_MODIFICATION_TIME 0x3008
        "id:00062002-0000-0000-c000-000000000046:33315:Boolean": .field("IsRecurring", .boolean),  // PidLidRecurring
        "tag:3619:Integer": .articleNumber,
        "tag:4339:String": .urlCompName,
        "tag:13843:String": .containerClass,
        "tag:13826:Integer": .contentCount,
        "tag:13827:Integer": .contentUnread,
    ]

    private static let sensitivities = ["Normal": "0", "Personal": "1", "Private": "2", "Confidential": "3"]

    /// The value on `item` in MAPI's form; nil when it has none (folder properties have none on items).
    func value(in item: StoredItem) -> String? {
        switch self {
        case .field(let name, let form):
            guard let v = item.fields[name]?.value else { return nil }
            switch form {
            case .text: return v
            case .sensitivity: return Self.sensitivities[v]
            case .boolean: return v == "true" || v == "1" ? "true" : "false"
            }
        case .articleNumber: return String(item.number)
        case .urlCompName:
            let name = item.fields["Subject"]?.value ?? item.fields["DisplayName"]?.value ?? ""
            return (name.isEmpty ? String(item.number) : name) + ".EML"
        case .containerClass, .contentCount, .contentUnread: return nil
        }
    }

    /// The value on a folder; nil for item properties.
    func value(in folder: StoredFolder) -> String? {
        switch self {
        case .containerClass: folder.folderClass
        case .contentCount: String(folder.items.count)
        case .contentUnread: "0"
        default: nil
        }
    }

    /// `<t:ExtendedProperty>` with the URI the client asked with.
    static func element(_ uri: XElement, _ value: String) -> XElement {
        XElement(
            "ExtendedProperty",
            children: [XElement("ExtendedFieldURI", attributes: uri.attributes), XElement("Value", text: value)])
    }
}
