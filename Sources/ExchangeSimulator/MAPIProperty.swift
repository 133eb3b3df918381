/// MAPI properties Exchange computes from an item's or folder's own data ([MS-OXPROPS]): a property tag or named
/// property that is another name of a first-class property (one stored value, read and compared in MAPI's form),
/// or a value the store derives. Any other extended property is stored as the client wrote it.
enum MAPIProperty: Sendable {
    /// The item element `name`, in MAPI's form.
    case field(String, Form)
    /// The entry `key` of a dictionary element (`PhoneNumbers`), its text.
    case entry(String, key: String)
    /// One part (`Street`, `City`...) of the `PhysicalAddresses` entry `key` (`Business`, `Home`, `Other`).
    case address(key: String, part: String)
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
        // Contacts ([MS-OXOCNTC]): names, organisation, telephones and addresses as MAPI clients (DavMail) read them.
        "tag:4096:String": .field("Body", .text),  // PR_BODY 0x1000
        "tag:12289:String": .field("DisplayName", .text),  // PR_DISPLAY_NAME 0x3001
        "tag:14853:String": .field("Generation", .text),  // PR_GENERATION 0x3A05
        "tag:14854:String": .field("GivenName", .text),  // PR_GIVEN_NAME 0x3A06
        "tag:14865:String": .field("Surname", .text),  // PR_SURNAME 0x3A11
        "tag:14916:String": .field("MiddleName", .text),  // PR_MIDDLE_NAME 0x3A44
        "tag:14927:String": .field("Nickname", .text),  // PR_NICKNAME 0x3A4F
        "tag:14870:String": .field("CompanyName", .text),  // PR_COMPANY_NAME 0x3A16
        "tag:14871:String": .field("JobTitle", .text),  // PR_TITLE 0x3A17
        "tag:14872:String": .field("Department", .text),  // PR_DEPARTMENT_NAME 0x3A18
        "tag:14873:String": .field("OfficeLocation", .text),  // PR_OFFICE_LOCATION 0x3A19
        "tag:14914:SystemTime": .field("Birthday", .text),  // PR_BIRTHDAY 0x3A42
        "tag:14856:String": .entry("PhoneNumbers", key: "BusinessPhone"),  // 0x3A08
        "tag:14857:String": .entry("PhoneNumbers", key: "HomePhone"),  // 0x3A09
        "tag:14876:String": .entry("PhoneNumbers", key: "MobilePhone"),  // 0x3A1C
        "tag:14884:String": .entry("PhoneNumbers", key: "BusinessFax"),  // 0x3A24
        "tag:14885:String": .entry("PhoneNumbers", key: "HomeFax"),  // 0x3A25
        "tag:14881:String": .entry("PhoneNumbers", key: "Pager"),  // 0x3A21
        "tag:14878:String": .entry("PhoneNumbers", key: "CarPhone"),  // 0x3A1E
        "tag:14941:String": .address(key: "Home", part: "Street"),  // 0x3A5D
        "tag:14937:String": .address(key: "Home", part: "City"),  // 0x3A59
        "tag:14940:String": .address(key: "Home", part: "State"),  // 0x3A5C
        "tag:14939:String": .address(key: "Home", part: "PostalCode"),  // 0x3A5B
        "tag:14938:String": .address(key: "Home", part: "CountryOrRegion"),  // 0x3A5A
        "tag:14947:String": .address(key: "Other", part: "Street"),  // 0x3A63
        "tag:14943:String": .address(key: "Other", part: "City"),  // 0x3A5F
        "tag:14946:String": .address(key: "Other", part: "State"),  // 0x3A62
        "tag:14945:String": .address(key: "Other", part: "PostalCode"),  // 0x3A61
        "tag:14944:String": .address(key: "Other", part: "CountryOrRegion"),  // 0x3A60
        // PidLidWorkAddress* (Address set 0x8045-0x8049).
        "id:00062004-0000-0000-c000-000000000046:32837:String": .address(key: "Business", part: "Street"),
        "id:00062004-0000-0000-c000-000000000046:32838:String": .address(key: "Business", part: "City"),
        "id:00062004-0000-0000-c000-000000000046:32839:String": .address(key: "Business", part: "State"),
        "id:00062004-0000-0000-c000-000000000046:32840:String": .address(key: "Business", part: "PostalCode"),
        "id:00062004-0000-0000-c000-000000000046:32841:String": .address(key: "Business", part: "CountryOrRegion"),
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
        case .entry(let name, let key):
            return item.fields[name]?.children.first { $0.attr("Key") == key }?.text
        case .address(let key, let part):
            return item.fields["PhysicalAddresses"]?.children.first { $0.attr("Key") == key }?.child(part)?.text
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
