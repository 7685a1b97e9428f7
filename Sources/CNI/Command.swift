/// The verb a runtime asks for in `CNI_COMMAND`.
public enum Command: String, Sendable, CaseIterable {
    case add = "ADD"
    case del = "DEL"
    case check = "CHECK"
    case status = "STATUS"
    case gc = "GC"
    case version = "VERSION"

    /// Environment variables each verb needs (the reference `pkg/skel` table).
    var requiredVariables: [String] {
        switch self {
        case .add, .check: ["CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_PATH"]
        case .del: ["CNI_CONTAINERID", "CNI_IFNAME", "CNI_PATH"]
        case .gc, .status: ["CNI_PATH"]
        case .version: []
        }
    }

    /// The first spec version that has this verb.
    var introducedIn: CNIVersion {
        switch self {
        case .add, .del, .version: .v010
        case .check: .v040
        case .status, .gc: .v110
        }
    }
}
