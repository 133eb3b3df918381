/// The version `snapsync --version` prints and the Debian package is named for (`jobs/dev/package.sh`).
enum SnapsyncVersion {
    static let current = "0.13.0"
}
