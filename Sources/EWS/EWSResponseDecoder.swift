import Foundation
import SyncCore
import XML

/// Decodes an EWS response envelope in one streaming pass (SAX): no DOM, memory bounded by what the
/// response holds. Element names resolve to tags by byte comparison; text is captured only for the
/// elements snapsync reads.
public final class EWSResponseDecoder: XMLEventHandler {
    /// Decodes a whole response body.
    public static func decode(_ body: [UInt8]) throws(XMLError) -> EWSResponse {
        let decoder = EWSResponseDecoder()
        try XMLStreamParser.parse(body, handler: decoder)
        return decoder.response
    }

    /// The response decoded so far (complete once the parse finished).
    public var response: EWSResponse { state.response }

    /// Everything the decoder builds, in one struct: each SAX callback is then one access to the
    /// object's storage instead of one (exclusivity-checked) access per field it touches.
    var state = State()

    public init() {}

    public func startElement(_ name: XMLName, attributes: XMLAttributes) throws {
        try state.startElement(name, attributes: attributes)
    }

    public func characters(_ bytes: UnsafeBufferPointer<UInt8>) throws {
        state.characters(bytes)
    }

    public func endElement(_ name: XMLName) throws {
        try state.endElement(name)
    }

    enum Tag: UInt8, Sendable, CaseIterable {
        case other
        // envelope and messages
        case envelope, body, serverVersionInfo, fault, faultcode, faultstring, detail, responseCode, errorMessage
        case messageText, messageXml, value, responseMessage, items, rootFolder, folders, folder, folderId, displayName
        case totalCount, syncState, includesLastItemInRange, changes, create, update, delete, readFlagChange, isRead
        case conflictResults, count, itemId
        // items
        case contact, calendarItem, task, genericItem
        case subject, itemBody, categories, string, sensitivity, importance, lastModifiedTime, extendedProperty,
            extendedFieldURI
        case givenName, surname, companyName, jobTitle, emailAddresses, phoneNumbers, physicalAddresses, entry
        case street, city, state, countryOrRegion, postalCode, birthday
        case uid, start, end, isAllDayEvent, location, calendarItemType, requiredAttendees, optionalAttendees, resources
        case attendee, mailbox, name, emailAddress, responseType, recurrence
        case dailyRecurrence, weeklyRecurrence, absoluteMonthlyRecurrence, relativeMonthlyRecurrence
        case absoluteYearlyRecurrence, relativeYearlyRecurrence, interval, daysOfWeek, firstDayOfWeek, dayOfMonth
        case dayOfWeekIndex, month, noEndRecurrence, endDateRecurrence, numberedRecurrence, startDate, endDate
        case numberOfOccurrences, modifiedOccurrences, occurrence, originalStart, deletedOccurrences, deletedOccurrence
        case startTimeZone, reminderMinutesBeforeStart, completeDate, dueDate, percentComplete, status
    }

    /// Tags whose text is read.
    static let textTags: Set<Tag> = [
        .faultcode, .faultstring, .responseCode, .errorMessage, .messageText, .value, .displayName, .totalCount,
        .syncState,
        .includesLastItemInRange, .isRead, .count, .subject, .itemBody, .string, .sensitivity, .importance,
        .lastModifiedTime,
        .givenName, .surname, .companyName, .jobTitle, .entry, .street, .city, .state, .countryOrRegion, .postalCode,
        .birthday, .uid, .start, .end, .isAllDayEvent, .location, .calendarItemType, .name, .emailAddress,
        .responseType,
        .interval, .daysOfWeek, .firstDayOfWeek, .dayOfMonth, .dayOfWeekIndex, .month, .startDate, .endDate,
        .numberOfOccurrences, .originalStart, .reminderMinutesBeforeStart, .completeDate, .dueDate, .percentComplete,
        .status,
    ]

    /// ``textTags`` indexed by raw value (a set lookup hashes; this is one load).
    static let textFlags: [Bool] = Tag.allCases.map { textTags.contains($0) }

    /// A value the decoder could not read; names the element, never its content.
    struct DecodingFailure: Error, CustomStringConvertible {
        var what: String
        var description: String { what }
    }

    static func trimmed(_ bytes: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8> {
        var start = 0, end = bytes.count
        while start < end, bytes[start] <= 0x20 { start += 1 }
        while end > start, bytes[end - 1] <= 0x20 { end -= 1 }
        return UnsafeBufferPointer(rebasing: bytes[start..<end])
    }

    /// A UUID in its 36-character text form (either case); nil for anything else.
    static func uuid(_ bytes: UnsafeBufferPointer<UInt8>) -> UUID? {
        guard bytes.count == 36 else { return nil }
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case 48...57: c - 48
            case 65...70: c - 55
            case 97...102: c - 87
            default: nil
            }
        }
        var value: [UInt8] = []
        value.reserveCapacity(16)
        var i = 0
        while i < 36 {
            if i == 8 || i == 13 || i == 18 || i == 23 {
                guard bytes[i] == UInt8(ascii: "-") else { return nil }
                i += 1
                continue
            }
            guard let high = nibble(bytes[i]), let low = nibble(bytes[i + 1]) else { return nil }
            value.append(high << 4 | low)
            i += 2
        }
        return UUID(
            uuid: (
                value[0], value[1], value[2], value[3], value[4], value[5], value[6], value[7],
                value[8], value[9], value[10], value[11], value[12], value[13], value[14], value[15]
            ))
    }

    static func integer(_ attribute: StaticString, in attributes: XMLAttributes) -> Int? {
        attributes.withValue(attribute) { integer($0) } ?? nil
    }

    static func integer(_ bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        let digits = trimmed(bytes)
        guard !digits.isEmpty else { return nil }
        var value = 0
        var negative = false
        for (i, byte) in digits.enumerated() {
            if i == 0, byte == UInt8(ascii: "-") { negative = true; continue }
            guard byte >= 48, byte <= 57 else { return nil }
            value = value &* 10 &+ Int(byte - 48)
        }
        return negative ? -value : value
    }

    /// The captured text of the current leaf element and its readings (a struct of its own, so that
    /// reading it while assigning another part of the state is not an overlapping access).
    struct LeafText {
        var bytes: [UInt8] = []

        func string() -> String { String(decoding: bytes, as: UTF8.self) }

        func trimmedString() -> String {
            bytes.withUnsafeBufferPointer { String(decoding: EWSResponseDecoder.trimmed($0), as: UTF8.self) }
        }

        func uuid() -> UUID? {
            bytes.withUnsafeBufferPointer { EWSResponseDecoder.uuid(EWSResponseDecoder.trimmed($0)) }
        }

        func int() -> Int? { bytes.withUnsafeBufferPointer { EWSResponseDecoder.integer($0) } }

        /// A dateTime; the error names the element (`tag`), never the text.
        func date(_ tag: Tag?) throws -> Date {
            guard let date = bytes.withUnsafeBufferPointer({ ISO8601.parseDateTime(EWSResponseDecoder.trimmed($0)) })
            else {
                throw DecodingFailure(what: "invalid dateTime in \(tag.map { String(describing: $0) } ?? "?")")
            }
            return date
        }

        /// A date; the error names the element (`tag`), never the text.
        func localDate(_ tag: Tag?) throws -> LocalDate {
            guard let date = bytes.withUnsafeBufferPointer({ ISO8601.parseDate(EWSResponseDecoder.trimmed($0)) }) else {
                throw DecodingFailure(what: "invalid date in \(tag.map { String(describing: $0) } ?? "?")")
            }
            return date
        }
    }

    /// The decoding state and the SAX event logic.
    struct State {
        var names = XMLNameTable<Tag>([
            ("Envelope", .envelope), ("Body", .body), ("ServerVersionInfo", .serverVersionInfo), ("Fault", .fault),
            ("faultcode", .faultcode), ("faultstring", .faultstring), ("detail", .detail),
            ("ResponseCode", .responseCode),
            ("Message", .errorMessage), ("MessageText", .messageText), ("MessageXml", .messageXml), ("Value", .value),
            // Response messages of the operations the client sends (others are found by their suffix).
            ("GetFolderResponseMessage", .responseMessage), ("FindItemResponseMessage", .responseMessage),
            ("GetItemResponseMessage", .responseMessage), ("CreateItemResponseMessage", .responseMessage),
            ("UpdateItemResponseMessage", .responseMessage), ("DeleteItemResponseMessage", .responseMessage),
            ("SyncFolderItemsResponseMessage", .responseMessage), ("ConvertIdResponseMessage", .responseMessage),
            ("Items", .items), ("RootFolder", .rootFolder), ("Folders", .folders), ("Folder", .folder),
            ("ContactsFolder", .folder), ("CalendarFolder", .folder), ("TasksFolder", .folder),
            ("SearchFolder", .folder),
            ("FolderId", .folderId), ("DisplayName", .displayName), ("TotalCount", .totalCount),
            ("SyncState", .syncState),
            ("IncludesLastItemInRange", .includesLastItemInRange), ("Changes", .changes), ("Create", .create),
            ("Update", .update), ("Delete", .delete), ("ReadFlagChange", .readFlagChange), ("IsRead", .isRead),
            ("ConflictResults", .conflictResults), ("Count", .count), ("ItemId", .itemId),
            ("Contact", .contact), ("CalendarItem", .calendarItem), ("Task", .task),
            ("Subject", .subject), ("Categories", .categories), ("String", .string), ("Sensitivity", .sensitivity),
            ("Importance", .importance), ("LastModifiedTime", .lastModifiedTime),
            ("ExtendedProperty", .extendedProperty),
            ("ExtendedFieldURI", .extendedFieldURI), ("GivenName", .givenName), ("Surname", .surname),
            ("CompanyName", .companyName), ("JobTitle", .jobTitle), ("EmailAddresses", .emailAddresses),
            ("PhoneNumbers", .phoneNumbers), ("PhysicalAddresses", .physicalAddresses), ("Entry", .entry),
            ("Street", .street), ("City", .city), ("State", .state), ("CountryOrRegion", .countryOrRegion),
            ("PostalCode", .postalCode), ("Birthday", .birthday), ("UID", .uid), ("Start", .start), ("End", .end),
            ("IsAllDayEvent", .isAllDayEvent), ("Location", .location), ("CalendarItemType", .calendarItemType),
            ("RequiredAttendees", .requiredAttendees), ("OptionalAttendees", .optionalAttendees),
            ("Resources", .resources),
            ("Attendee", .attendee), ("Mailbox", .mailbox), ("Name", .name), ("EmailAddress", .emailAddress),
            ("ResponseType", .responseType), ("Recurrence", .recurrence), ("DailyRecurrence", .dailyRecurrence),
            ("WeeklyRecurrence", .weeklyRecurrence), ("AbsoluteMonthlyRecurrence", .absoluteMonthlyRecurrence),
            ("RelativeMonthlyRecurrence", .relativeMonthlyRecurrence),
            ("AbsoluteYearlyRecurrence", .absoluteYearlyRecurrence),
            ("RelativeYearlyRecurrence", .relativeYearlyRecurrence), ("Interval", .interval),
            ("DaysOfWeek", .daysOfWeek),
            ("FirstDayOfWeek", .firstDayOfWeek), ("DayOfMonth", .dayOfMonth), ("DayOfWeekIndex", .dayOfWeekIndex),
            ("Month", .month), ("NoEndRecurrence", .noEndRecurrence), ("EndDateRecurrence", .endDateRecurrence),
            ("NumberedRecurrence", .numberedRecurrence), ("StartDate", .startDate), ("EndDate", .endDate),
            ("NumberOfOccurrences", .numberOfOccurrences), ("ModifiedOccurrences", .modifiedOccurrences),
            ("Occurrence", .occurrence), ("OriginalStart", .originalStart), ("DeletedOccurrences", .deletedOccurrences),
            ("DeletedOccurrence", .deletedOccurrence), ("StartTimeZone", .startTimeZone),
            ("ReminderMinutesBeforeStart", .reminderMinutesBeforeStart), ("CompleteDate", .completeDate),
            ("DueDate", .dueDate), ("PercentComplete", .percentComplete), ("Status", .status),
        ])

        let textFlags = EWSResponseDecoder.textFlags
        var response = EWSResponse()

        // Element stack (tags only) and the captured text of the current leaf.
        var stack: [Tag] = []
        var capturing = false
        var text = LeafText()

        // What is being built.
        var message: EWSResponseMessage?
        var fault: SOAPFault?
        var folder: EWSFolder?
        var valueName: String?
        var itemTag: Tag?
        var itemDepth = 0
        var contact = EWSContact()
        var calendar = EWSCalendarItem()
        var task = EWSTask()
        var generic = EWSGenericItem(elementName: "")
        var changeTag: Tag?
        var changeItemId: ItemId?
        var changeIsRead = false
        var extendedIsCRMId = false
        var entryKey: String?
        var attendee = EWSAttendee(emailAddress: "")
        var occurrence = EWSOccurrence()
        var recurrence = RecurrenceFields()

        struct RecurrenceFields {
            var patternTag: EWSResponseDecoder.Tag?
            var interval = 1
            var daysOfWeek = ""
            var firstDayOfWeek: String?
            var dayOfMonth = 1
            var index = "First"
            var month = "January"
            var rangeTag: EWSResponseDecoder.Tag?
            var startDate: LocalDate?
            var endDate: LocalDate?
            var occurrences = 0
        }

        init() {
            text.bytes.reserveCapacity(256)
        }

        var parent: Tag { stack.count >= 2 ? stack[stack.count - 2] : .other }

        mutating func startElement(_ name: XMLName, attributes: XMLAttributes) throws {
            var tag = names.lookup(name.localName) ?? .other
            if tag == .errorMessage, !name.isIn(namespace: "http://schemas.microsoft.com/exchange/services/2006/errors")
            {
                tag = .other  // t:Message is an item (handled below), m:Message is unused
            }
            if tag == .body, itemTag != nil { tag = .itemBody }
            if tag == .other, isResponseMessage(name) {
                tag = .responseMessage
            }
            // An item element: any types-namespace child of Items/Create/Update.
            if itemTag == nil, let last = stack.last, last == .items || last == .create || last == .update,
                name.isIn(namespace: "http://schemas.microsoft.com/exchange/services/2006/types")
            {
                if tag != .contact && tag != .calendarItem && tag != .task { tag = .genericItem }
            }
            stack.append(tag)
            capturing = textFlags[Int(tag.rawValue)]
            if capturing { text.bytes.removeAll(keepingCapacity: true) }

            switch tag {
            case .serverVersionInfo:
                func int(_ name: StaticString) -> Int { EWSResponseDecoder.integer(name, in: attributes) ?? 0 }
                response.serverVersion = ServerVersionInfo(
                    majorVersion: int("MajorVersion"), minorVersion: int("MinorVersion"),
                    majorBuildNumber: int("MajorBuildNumber"), minorBuildNumber: int("MinorBuildNumber"),
                    version: attributes.value("Version"))
            case .fault:
                fault = SOAPFault(faultCode: "", faultString: "")
            case .responseMessage:
                message = EWSResponseMessage()
                message?.responseClass = attributes.value("ResponseClass") ?? "Success"
            case .value:
                valueName = attributes.value("Name")
            case .rootFolder:
                message?.paging = EWSPaging(
                    indexedPagingOffset: EWSResponseDecoder.integer("IndexedPagingOffset", in: attributes),
                    totalItemsInView: EWSResponseDecoder.integer("TotalItemsInView", in: attributes),
                    includesLastItemInRange: attributes.value("IncludesLastItemInRange") == "true")
            case .folder where parent == .folders:
                folder = EWSFolder(folderId: FolderId(""))
            case .folderId where folder != nil:
                folder?.folderId = FolderId(attributes.value("Id") ?? "", changeKey: attributes.value("ChangeKey"))
            case .create, .update, .delete, .readFlagChange:
                if parent == .changes {
                    changeTag = tag
                    changeItemId = nil
                    changeIsRead = false
                }
            case .contact, .calendarItem, .task, .genericItem:
                if itemTag == nil {
                    beginItem(tag, name: name)
                }
            case .itemId:
                let id = ItemId(attributes.value("Id") ?? "", changeKey: attributes.value("ChangeKey"))
                if itemTag != nil, stack.count == itemDepth + 1 {
                    setItemId(id)
                } else if parent == .occurrence {
                    occurrence.itemId = id
                } else if itemTag == nil, changeTag == .delete || changeTag == .readFlagChange {
                    changeItemId = id
                }
            case .extendedFieldURI where itemTag != nil:
                extendedIsCRMId =
                    attributes.value("PropertyName") == ExtendedPropertyName.snapsyncCRMId.propertyName
                    && attributes.value("PropertySetId")?.uppercased()
                        == ExtendedPropertyName.snapsyncCRMId.propertySetId
            case .entry:
                entryKey = attributes.value("Key")
            case .attendee:
                attendee = EWSAttendee(emailAddress: "")
            case .occurrence:
                occurrence = EWSOccurrence()
            case .recurrence where itemTag == .calendarItem:
                recurrence = RecurrenceFields()
            case .dailyRecurrence, .weeklyRecurrence, .absoluteMonthlyRecurrence, .relativeMonthlyRecurrence,
                .absoluteYearlyRecurrence, .relativeYearlyRecurrence:
                recurrence.patternTag = tag
            case .noEndRecurrence, .endDateRecurrence, .numberedRecurrence:
                recurrence.rangeTag = tag
            case .startTimeZone where itemTag == .calendarItem:
                calendar.startTimeZoneId = attributes.value("Id")
            default:
                break
            }
        }

        mutating func characters(_ bytes: UnsafeBufferPointer<UInt8>) {
            if capturing { text.bytes.append(contentsOf: bytes) }
        }

        mutating func endElement(_ name: XMLName) throws {
            guard let tag = stack.last else { return }
            defer {
                stack.removeLast()
                capturing = false
            }
            if textFlags[Int(tag.rawValue)] {
                try endLeaf(tag)
                return
            }
            switch tag {
            case .fault:
                response.fault = fault
                fault = nil
            case .responseMessage:
                if let message = message.take() { response.messages.append(message) }
            case .folder where folder != nil:
                if let folder { message?.folders.append(folder) }
                folder = nil
            case .contact, .calendarItem, .task, .genericItem:
                if itemTag != nil, stack.count == itemDepth { endItem() }
            case .attendee where itemTag == .calendarItem:
                switch parent {
                case .requiredAttendees: calendar.requiredAttendees.append(attendee)
                case .optionalAttendees: calendar.optionalAttendees.append(attendee)
                case .resources: calendar.resources.append(attendee)
                default: break
                }
            case .occurrence where parent == .modifiedOccurrences:
                calendar.modifiedOccurrences.append(occurrence)
            case .recurrence where itemTag == .calendarItem:
                do { calendar.recurrence = try makeRecurrence() } catch {
                    calendar.unreadableFields.append("Recurrence")
                }
            case .delete, .readFlagChange:
                if parent == .changes, let id = changeItemId {
                    message?.changes.append(tag == .delete ? .delete(id) : .readFlagChange(id, isRead: changeIsRead))
                }
                if parent == .changes { changeTag = nil }
            case .create, .update:
                if parent == .changes { changeTag = nil }
            default:
                break
            }
        }

        // MARK: leaves

        mutating func endLeaf(_ tag: Tag) throws {
            if itemTag != nil {
                // A value of an item that cannot be read makes that item unreadable, not the whole answer.
                do { try endItemLeaf(tag) } catch { markUnreadable(tag) }
                return
            }
            switch tag {
            case .faultcode:
                let code = text.string()
                fault?.faultCode = code.split(separator: ":").last.map(String.init) ?? code
            case .faultstring: fault?.faultString = text.string()
            case .responseCode:
                if fault != nil {
                    fault?.responseCode = text.trimmedString()
                } else {
                    message?.responseCode = text.trimmedString()
                }
            case .errorMessage: fault?.message = text.trimmedString()
            case .messageText: message?.messageText = text.string()
            case .value where valueName == "BackOffMilliseconds":
                let value = text.int()
                if fault != nil { fault?.backOffMilliseconds = value } else { message?.backOffMilliseconds = value }
            case .displayName where folder != nil: folder?.displayName = text.string()
            case .totalCount where folder != nil: folder?.totalCount = text.int()
            case .syncState: message?.syncState = text.string()
            case .includesLastItemInRange: message?.includesLastItemInRange = text.string() == "true"
            case .isRead: changeIsRead = text.string() == "true"
            case .count where parent == .conflictResults: message?.conflictCount = text.int()
            default: break
            }
        }

        mutating func endItemLeaf(_ tag: Tag) throws {
            let inItemDirectly = stack.count == itemDepth + 1
            switch itemTag {
            case .contact?:
                switch tag {
                case .itemBody where inItemDirectly: contact.body = text.string()
                case .string where parent == .categories: contact.categories.append(text.string())
                case .lastModifiedTime: contact.lastModified = try text.date(stack.last)
                case .value where extendedIsCRMId: contact.crmID = text.uuid()
                case .displayName: contact.displayName = text.string()
                case .givenName: contact.givenName = text.string()
                case .surname: contact.surname = text.string()
                case .companyName: contact.companyName = text.string()
                case .jobTitle: contact.jobTitle = text.string()
                case .birthday: contact.birthday = try text.date(stack.last)
                case .entry:
                    guard let key = entryKey else { break }
                    switch parent {
                    case .emailAddresses: contact.emailAddresses[key] = text.string()
                    case .phoneNumbers: contact.phoneNumbers[key] = text.string()
                    default: break
                    }
                case .street, .city, .state, .countryOrRegion, .postalCode:
                    guard parent == .entry, let key = entryKey else { break }
                    var address = contact.physicalAddresses[key] ?? EWSPhysicalAddress()
                    let value = text.string()
                    switch tag {
                    case .street: address.street = value
                    case .city: address.city = value
                    case .state: address.state = value
                    case .countryOrRegion: address.countryOrRegion = value
                    default: address.postalCode = value
                    }
                    contact.physicalAddresses[key] = address
                default: break
                }
            case .calendarItem?:
                switch tag {
                case .subject where inItemDirectly: calendar.subject = text.string()
                case .itemBody where inItemDirectly: calendar.body = text.string()
                case .sensitivity: calendar.sensitivity = text.string()
                case .string where parent == .categories: calendar.categories.append(text.string())
                case .lastModifiedTime: calendar.lastModified = try text.date(stack.last)
                case .value where extendedIsCRMId: calendar.crmID = text.uuid()
                case .uid: calendar.uid = text.string()
                case .start:
                    switch parent {
                    case .occurrence: occurrence.start = try text.date(stack.last)
                    case .deletedOccurrence: calendar.deletedOccurrences.append(try text.date(stack.last))
                    default: if inItemDirectly { calendar.start = try text.date(stack.last) }
                    }
                case .end:
                    if parent == .occurrence {
                        occurrence.end = try text.date(stack.last)
                    } else if inItemDirectly {
                        calendar.end = try text.date(stack.last)
                    }
                case .originalStart:
                    if parent == .occurrence { occurrence.originalStart = try text.date(stack.last) }
                case .isAllDayEvent: calendar.isAllDayEvent = text.string() == "true"
                case .location where inItemDirectly: calendar.location = text.string()
                case .calendarItemType: calendar.calendarItemType = text.string()
                case .reminderMinutesBeforeStart: calendar.reminderMinutesBeforeStart = text.int()
                case .name where parent == .mailbox: attendee.name = text.string()
                case .emailAddress where parent == .mailbox: attendee.emailAddress = text.string()
                case .responseType where parent == .attendee: attendee.responseType = text.string()
                case .interval: recurrence.interval = text.int() ?? 1
                case .daysOfWeek: recurrence.daysOfWeek = text.string()
                case .firstDayOfWeek: recurrence.firstDayOfWeek = text.string()
                case .dayOfMonth: recurrence.dayOfMonth = text.int() ?? 1
                case .dayOfWeekIndex: recurrence.index = text.string()
                case .month: recurrence.month = text.string()
                case .startDate: recurrence.startDate = try text.localDate(stack.last)
                case .endDate: recurrence.endDate = try text.localDate(stack.last)
                case .numberOfOccurrences: recurrence.occurrences = text.int() ?? 0
                default: break
                }
            case .task?:
                switch tag {
                case .subject where inItemDirectly: task.subject = text.string()
                case .itemBody where inItemDirectly: task.body = text.string()
                case .string where parent == .categories: task.categories.append(text.string())
                case .importance: task.importance = text.string()
                case .lastModifiedTime: task.lastModified = try text.date(stack.last)
                case .value where extendedIsCRMId: task.crmID = text.uuid()
                case .completeDate: task.completeDate = try text.date(stack.last)
                case .dueDate: task.dueDate = try text.date(stack.last)
                case .startDate where inItemDirectly: task.startDate = try text.date(stack.last)
                case .percentComplete:
                    guard let value = Double(text.trimmedString()), value.isFinite else {
                        throw DecodingFailure(what: "invalid PercentComplete")
                    }
                    task.percentComplete = value
                case .status: task.status = text.string()
                default: break
                }
            default:
                if tag == .subject, inItemDirectly { generic.subject = text.string() }
            }
        }

        // MARK: items

        /// Records that the current item's element `tag` has a value that cannot be read.
        mutating func markUnreadable(_ tag: Tag) {
            let name = String(describing: tag)
            let element = name.prefix(1).uppercased() + name.dropFirst()
            switch itemTag {
            case .contact?: contact.unreadableFields.append(element)
            case .calendarItem?: calendar.unreadableFields.append(element)
            case .task?: task.unreadableFields.append(element)
            default: break
            }
        }

        mutating func beginItem(_ tag: Tag, name: XMLName) {
            itemTag = tag
            itemDepth = stack.count
            extendedIsCRMId = false
            switch tag {
            case .contact: contact = EWSContact()
            case .calendarItem: calendar = EWSCalendarItem()
            case .task: task = EWSTask()
            default: generic = EWSGenericItem(elementName: name.localNameString)
            }
        }

        mutating func setItemId(_ id: ItemId) {
            switch itemTag {
            case .contact?: contact.itemId = id
            case .calendarItem?: calendar.itemId = id
            case .task?: task.itemId = id
            default: generic.itemId = id
            }
        }

        mutating func endItem() {
            let item: EWSItem
            switch itemTag {
            case .contact?: item = .contact(Self.take(&contact))
            case .calendarItem?: item = .calendarItem(Self.take(&calendar))
            case .task?: item = .task(Self.take(&task))
            default: item = .other(generic)
            }
            itemTag = nil
            switch changeTag {
            case .create?: message?.changes.append(.create(item))
            case .update?: message?.changes.append(.update(item))
            default: message?.items.append(item)
            }
        }

        /// Moves a finished item out without copying it (a copy retains every field, the reset releases them).
        static func take<Item: EWSItemFields>(_ item: inout Item) -> Item {
            var taken = Item()
            swap(&taken, &item)
            return taken
        }

        func makeRecurrence() throws -> EWSRecurrence? {
            guard let patternTag = recurrence.patternTag, let rangeTag = recurrence.rangeTag,
                let start = recurrence.startDate
            else {
                throw DecodingFailure(what: "incomplete Recurrence")
            }
            let r = recurrence
            let pattern: EWSRecurrence.Pattern
            switch patternTag {
            case .dailyRecurrence: pattern = .daily(interval: r.interval)
            case .weeklyRecurrence:
                pattern = .weekly(
                    interval: r.interval, daysOfWeek: r.daysOfWeek.split(separator: " ").map(String.init),
                    firstDayOfWeek: r.firstDayOfWeek)
            case .absoluteMonthlyRecurrence: pattern = .absoluteMonthly(interval: r.interval, dayOfMonth: r.dayOfMonth)
            case .relativeMonthlyRecurrence:
                pattern = .relativeMonthly(interval: r.interval, daysOfWeek: r.daysOfWeek, index: r.index)
            case .absoluteYearlyRecurrence: pattern = .absoluteYearly(dayOfMonth: r.dayOfMonth, month: r.month)
            default: pattern = .relativeYearly(daysOfWeek: r.daysOfWeek, index: r.index, month: r.month)
            }
            let range: EWSRecurrence.Range
            switch rangeTag {
            case .endDateRecurrence:
                guard let end = r.endDate else { throw DecodingFailure(what: "EndDateRecurrence without EndDate") }
                range = .endDate(start: start, end: end)
            case .numberedRecurrence: range = .numbered(start: start, occurrences: r.occurrences)
            default: range = .noEnd(start: start)
            }
            return EWSRecurrence(pattern: pattern, range: range)
        }

        // MARK: values

        func isResponseMessage(_ name: XMLName) -> Bool {
            guard name.isIn(namespace: "http://schemas.microsoft.com/exchange/services/2006/messages") else {
                return false
            }
            // Names end in "ResponseMessage" (GetItemResponseMessage, …).
            let suffix: StaticString = "ResponseMessage"
            var length = 0
            while name.localName[length] != 0 { length += 1 }
            let n = suffix.utf8CodeUnitCount
            guard length > n else { return false }
            for i in 0..<n where name.localName[length - n + i] != suffix.utf8Start[i] { return false }
            return true
        }
    }
}
