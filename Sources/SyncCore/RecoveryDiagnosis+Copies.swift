import Foundation

extension RecoveryDiagnosis {
    /// Copies in Exchange found by inbound runs: items carrying a CRM id another item of their folder holds. Neither
    /// side is changed automatically (which of the two is the copy is the user's call); the finding names them.
    static func copiesFinding(_ facts: RecoveryFacts) -> RecoveryFinding? {
        guard !facts.copiesInExchange.isEmpty else { return nil }
        return RecoveryFinding(
            scenario: .copiesInExchange, details: facts.copiesInExchange,
            steps: [.manual("delete the copy (or the original) in the mailbox; the next inbound snapshot imports what is left "
                            + "and no longer reports it (snapsync verify lists each as a duplicate item in Exchange)")])
    }
}
