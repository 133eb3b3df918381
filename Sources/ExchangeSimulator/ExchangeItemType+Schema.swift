// Element order of the item types in types.xsd (generated from the official schema; responses must
// emit an item's child elements in exactly this order to validate).

/// The EWS item types the simulator stores (types.xsd's `ContactItemType`, `CalendarItemType`, `TaskType`);
/// the raw value is the item's element name.
public enum ExchangeItemType: String, Sendable, CaseIterable, Codable {
    case contact = "Contact"
    case calendarItem = "CalendarItem"
    case task = "Task"

    /// The `ItemClass` Exchange gives new items of this type.
    var itemClass: String {
        switch self {
        case .contact: "IPM.Contact"
        case .calendarItem: "IPM.Appointment"
        case .task: "IPM.Task"
        }
    }

    /// All child element names of this type in schema order (ItemType's first, then the type's own).
    var elementOrder: [String] {
        switch self {
        case .contact: ItemSchema.contactOrder
        case .calendarItem: ItemSchema.calendarOrder
        case .task: ItemSchema.taskOrder
        }
    }

    /// Element name -> position in schema order.
    var elementRank: [String: Int] {
        switch self {
        case .contact: ItemSchema.contactRank
        case .calendarItem: ItemSchema.calendarRank
        case .task: ItemSchema.taskRank
        }
    }
}

enum ItemSchema {
    static let itemOrder: [String] = [
        "MimeContent", "ItemId", "ParentFolderId", "ItemClass", "Subject", "Sensitivity", "Body", "Attachments",
        "DateTimeReceived", "Size", "Categories", "Importance", "InReplyTo", "IsSubmitted", "IsDraft", "IsFromMe",
        "IsResend", "IsUnmodified", "InternetMessageHeaders", "DateTimeSent", "DateTimeCreated", "ResponseObjects",
        "ReminderDueBy", "ReminderIsSet", "ReminderNextTime", "ReminderMinutesBeforeStart", "DisplayCc", "DisplayTo",
        "DisplayBcc", "HasAttachments", "ExtendedProperty", "Culture", "EffectiveRights", "LastModifiedName",
        "LastModifiedTime", "IsAssociated", "WebClientReadFormQueryString", "WebClientEditFormQueryString",
        "ConversationId", "UniqueBody", "Flag", "StoreEntryId", "InstanceKey", "NormalizedBody",
        "EntityExtractionResult", "PolicyTag", "ArchiveTag", "RetentionDate", "Preview",
        "RightsManagementLicenseData", "PredictedActionReasons", "IsClutter", "BlockStatus", "HasBlockedImages",
        "TextBody", "IconIndex", "SearchKey", "SortKey", "Hashtags", "Mentions", "MentionedMe", "MentionsPreview",
        "MentionsEx", "AppliedHashtags", "AppliedHashtagsPreview", "Likes", "LikesPreview",
        "PendingSocialActivityTagIds", "AtAllMention", "CanDelete", "InferenceClassification",
    ]
    static let contactOrder: [String] =
        itemOrder + [
            "FileAs", "FileAsMapping", "DisplayName", "GivenName", "Initials", "MiddleName", "Nickname", "CompleteName",
            "CompanyName", "EmailAddresses", "AbchEmailAddresses", "PhysicalAddresses", "PhoneNumbers", "AssistantName",
            "Birthday", "BusinessHomePage", "Children", "Companies", "ContactSource", "Department", "Generation",
            "ImAddresses", "JobTitle", "Manager", "Mileage", "OfficeLocation", "PostalAddressIndex", "Profession",
            "SpouseName", "Surname", "WeddingAnniversary", "HasPicture", "PhoneticFullName", "PhoneticFirstName",
            "PhoneticLastName", "Alias", "Notes", "Photo", "UserSMIMECertificate", "MSExchangeCertificate",
            "DirectoryId", "ManagerMailbox", "DirectReports", "AccountName", "IsAutoUpdateDisabled",
            "IsMessengerEnabled", "Comment", "ContactShortId", "ContactType", "Gender", "IsHidden", "ObjectId",
            "PassportId", "IsPrivate", "SourceId", "TrustLevel", "CreatedBy", "Urls", "Cid", "SkypeAuthCertificate",
            "SkypeContext", "SkypeId", "SkypeRelationship", "YomiNickname", "XboxLiveTag", "InviteFree",
            "HidePresenceAndProfile", "IsPendingOutbound", "SupportGroupFeeds", "UserTileHash", "UnifiedInbox", "Mris",
            "Wlid", "AbchContactId", "NotInBirthdayCalendar", "ShellContactType", "ImMri", "PresenceTrustLevel",
            "OtherMri", "ProfileLastChanged", "MobileIMEnabled", "PartnerNetworkProfilePhotoUrl",
            "PartnerNetworkThumbnailPhotoUrl", "PersonId", "ConversationGuid",
        ]
    static let contactRank: [String: Int] = Dictionary(uniqueKeysWithValues: contactOrder.enumerated().map { ($1, $0) })
    static let calendarOrder: [String] =
        itemOrder + [
            "UID", "RecurrenceId", "DateTimeStamp", "Start", "End", "OriginalStart", "IsAllDayEvent",
            "LegacyFreeBusyStatus", "Location", "When", "IsMeeting", "IsCancelled", "IsRecurring",
            "MeetingRequestWasSent", "IsResponseRequested", "CalendarItemType", "MyResponseType", "Organizer",
            "RequiredAttendees", "OptionalAttendees", "Resources", "InboxReminders", "ConflictingMeetingCount",
            "AdjacentMeetingCount", "ConflictingMeetings", "AdjacentMeetings", "Duration", "TimeZone",
            "AppointmentReplyTime", "AppointmentSequenceNumber", "AppointmentState", "Recurrence", "FirstOccurrence",
            "LastOccurrence", "ModifiedOccurrences", "DeletedOccurrences", "MeetingTimeZone", "StartTimeZone",
            "EndTimeZone", "ConferenceType", "AllowNewTimeProposal", "IsOnlineMeeting", "MeetingWorkspaceUrl",
            "NetShowUrl", "EnhancedLocation", "StartWallClock", "EndWallClock", "StartTimeZoneId", "EndTimeZoneId",
            "IntendedFreeBusyStatus", "JoinOnlineMeetingUrl", "OnlineMeetingSettings", "IsOrganizer",
            "CalendarActivityData",
        ]
    static let calendarRank: [String: Int] = Dictionary(
        uniqueKeysWithValues: calendarOrder.enumerated().map { ($1, $0) })
    static let taskOrder: [String] =
        itemOrder + [
            "ActualWork", "AssignedTime", "BillingInformation", "ChangeCount", "Companies", "CompleteDate", "Contacts",
            "DelegationState", "Delegator", "DueDate", "IsAssignmentEditable", "IsComplete", "IsRecurring",
            "IsTeamTask",
            "Mileage", "Owner", "PercentComplete", "Recurrence", "StartDate", "Status", "StatusDescription",
            "TotalWork",
        ]
    static let taskRank: [String: Int] = Dictionary(uniqueKeysWithValues: taskOrder.enumerated().map { ($1, $0) })
}
