import CNetlink
#if canImport(Glibc)
import Glibc
#endif

/// Sends one request and collects the kernel's answer. `RouteSocket` talks only to this, so unit
/// tests can inject a fake that records the requests and returns canned replies.
public protocol NetlinkTransport: AnyObject {
    /// Sends `request` (the transport adds NLM_F_REQUEST | NLM_F_ACK, sequence and port id) and
    /// returns the data messages of the answer: the object for a GET, every part of a dump, nothing
    /// for NEW/DEL/SET. A kernel NLMSG_ERROR becomes a `KernelError` with an empty `operation`
    /// (the caller fills it in) and the extended-ACK text if the kernel sent one.
    func send(_ request: NetlinkRequest) throws(KernelError) -> [NetlinkMessage]

    /// Whether the kernel filters dumps by the header/attributes we send (NETLINK_GET_STRICT_CHK
    /// accepted). Callers filter client-side as well, so this is informational.
    var filtersDumps: Bool { get }
}

/// Decodes the errno and extended-ACK text of an NLMSG_ERROR or NLMSG_DONE message.
/// Returns nil for an ACK (error 0) or a DONE without error.
func kernelFailure(in message: NetlinkMessage) -> KernelError? {
    guard let code = message.payload.s32(at: 0), code < 0 else { return nil }
    var tlvStart = 4
    if message.type == UInt16(NLMSG_ERROR) {
        // nlmsgerr = { int error; struct nlmsghdr msg; } then the request's payload unless capped.
        if message.flags & UInt16(NLM_F_CAPPED) != 0 {
            tlvStart = 4 + 16
        } else {
            let origLen = Int(message.payload.u32(at: 4) ?? 16)
            tlvStart = 4 + align4(max(origLen, 16))
        }
    }
    var text: String? = nil
    if message.flags & UInt16(NLM_F_ACK_TLVS) != 0, tlvStart <= message.payload.count {
        text = AttributeList(message.payload, from: tlvStart).string(Int(NLMSGERR_ATTR_MSG.rawValue))
    }
    return KernelError(errno: -code, operation: "", kernelMessage: text)
}

/// The real transport: a NETLINK_ROUTE socket driven by libnl-3's core.
///
/// The socket has NETLINK_EXT_ACK (kernel error text), NETLINK_CAP_ACK (errors don't echo the
/// request) and, when the kernel supports it, NETLINK_GET_STRICT_CHK (dumps filtered by the
/// header/attributes we send). It belongs to the network namespace of the thread that created it,
/// whichever thread uses it later.
public final class LibnlTransport: NetlinkTransport {
    private let socket: OpaquePointer   // struct nl_sock *
    private let callbacks: OpaquePointer  // struct nl_cb *
    public private(set) var filtersDumps = false
    /// Twice the largest datagram the kernel makes for a dump (see `init`).
    static let receiveBufferSize = 65536

    /// Opens a socket in the calling thread's current network namespace.
    public init() throws(KernelError) {
        guard let cb = nl_cb_alloc(NL_CB_DEFAULT) else {
            throw KernelError(errno: ENOMEM, operation: "allocating netlink callbacks")
        }
        guard let sk = nl_socket_alloc() else {
            nl_cb_put(cb)
            throw KernelError(errno: ENOMEM, operation: "allocating netlink socket")
        }
        Glibc.errno = 0
        let rc = nl_connect(sk, NETLINK_ROUTE)
        if rc < 0 {
            let e = Glibc.errno
            nl_socket_free(sk)
            nl_cb_put(cb)
            throw KernelError(errno: e != 0 ? e : EIO, operation: "opening netlink route socket",
                              kernelMessage: String(cString: nl_geterror(rc)))
        }
        socket = sk
        callbacks = cb
        // One recvmsg per datagram, into a buffer no reply of ours can outgrow. By default libnl
        // first peeks at each datagram for its size, then reads it: two system calls and two
        // copies per reply. The kernel fills a dump's datagram up to the reader's largest
        // recvmsg buffer, capped at 32 kB; a single reply to what we ask (a link without
        // statistics or VF information, an address, a route, a neighbour) is a few hundred bytes
        // to 2 kB. A longer one would fail as truncated (NLE_MSG_TRUNC), never be misread.
        nl_socket_disable_msg_peek(sk)
        _ = nl_socket_set_msg_buf_size(sk, Self.receiveBufferSize)
        let fd = nl_socket_get_fd(sk)
        var one: Int32 = 1
        let size = socklen_t(MemoryLayout<Int32>.size)
        _ = setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, size)
        _ = setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, size)
        filtersDumps = setsockopt(fd, SOL_NETLINK, NETLINK_GET_STRICT_CHK, &one, size) == 0
    }

    deinit {
        nl_socket_free(socket)  // closes the fd
        nl_cb_put(callbacks)
    }

    /// The socket's file descriptor (for poll/debugging; do not close it).
    public var fileDescriptor: Int32 { nl_socket_get_fd(socket) }

    public func send(_ request: NetlinkRequest) throws(KernelError) -> [NetlinkMessage] {
        // A dump the kernel marks NLM_F_DUMP_INTR (the table changed under it) is retried.
        var attempt = 0
        while true {
            let (messages, interrupted) = try sendOnce(request)
            attempt += 1
            if !interrupted || attempt >= 5 { return messages }
        }
    }

    private func sendOnce(_ request: NetlinkRequest) throws(KernelError) -> ([NetlinkMessage], Bool) {
        let msg = try Self.makeMessage(request)
        defer { nlmsg_free(msg) }

        let state = ReceiveState()
        let arg = Unmanaged.passUnretained(state).toOpaque()
        nl_cb_set(callbacks, NL_CB_VALID, NL_CB_CUSTOM, receiveValid, arg)
        nl_cb_set(callbacks, NL_CB_ACK, NL_CB_CUSTOM, receiveAck, arg)
        nl_cb_set(callbacks, NL_CB_FINISH, NL_CB_CUSTOM, receiveFinish, arg)
        nl_cb_set(callbacks, NL_CB_SEQ_CHECK, NL_CB_CUSTOM, checkSequence, arg)
        nl_cb_err(callbacks, NL_CB_CUSTOM, receiveError, arg)

        Glibc.errno = 0
        let sent = nl_send_auto(socket, msg)
        if sent < 0 {
            let e = Glibc.errno
            throw KernelError(errno: e != 0 ? e : EIO, operation: "",
                              kernelMessage: "sending: " + String(cString: nl_geterror(sent)))
        }
        state.sequence = nlmsg_hdr(msg).pointee.nlmsg_seq

        return try withExtendedLifetime(state) { () throws(KernelError) -> ([NetlinkMessage], Bool) in
            while !state.done {
                Glibc.errno = 0
                let rc = nl_recvmsgs(socket, callbacks)
                if let e = state.error { throw e }
                if rc < 0 {
                    let e = Glibc.errno
                    throw KernelError(errno: e != 0 ? e : EIO, operation: "",
                                      kernelMessage: "receiving: " + String(cString: nl_geterror(rc)))
                }
            }
            return (state.messages, state.interrupted)
        }
    }

    /// Builds the `nl_msg` for a request with libnl's message and attribute calls. The caller frees it.
    static func makeMessage(_ request: NetlinkRequest) throws(KernelError) -> OpaquePointer {
        guard let msg = nlmsg_alloc_simple(Int32(request.type), Int32(request.flags)) else {
            throw KernelError(errno: ENOMEM, operation: "allocating netlink message")
        }
        var ok = request.header.withUnsafeBytes { h in
            nlmsg_append(msg, UnsafeMutableRawPointer(mutating: h.baseAddress), h.count, 4) >= 0
        }
        for a in request.attributes where ok { ok = put(a, into: msg) }
        guard ok else {
            nlmsg_free(msg)
            throw KernelError(errno: EMSGSIZE, operation: "building netlink message")
        }
        return msg
    }

    private static func put(_ a: NetlinkAttribute, into msg: OpaquePointer) -> Bool {
        switch a.payload {
        case .data(let d):
            return d.withUnsafeBytes { nla_put(msg, Int32(a.type), Int32(d.count), $0.baseAddress) >= 0 }
        case .nested(let header, let children):
            guard let start = nla_nest_start(msg, Int32(a.type)) else { return false }
            if !header.isEmpty {
                let ok = header.withUnsafeBytes { h in
                    nlmsg_append(msg, UnsafeMutableRawPointer(mutating: h.baseAddress), h.count, 4) >= 0
                }
                guard ok else { return false }
            }
            for c in children { guard put(c, into: msg) else { return false } }
            return nla_nest_end_keep_empty(msg, start) >= 0
        }
    }

    /// The bytes libnl builds for a request, before sending (no REQUEST/ACK flags, seq 0).
    static func libnlBytes(_ request: NetlinkRequest) throws(KernelError) -> [UInt8] {
        let msg = try makeMessage(request)
        defer { nlmsg_free(msg) }
        let h = nlmsg_hdr(msg)!
        return Array(UnsafeRawBufferPointer(start: UnsafeRawPointer(h), count: Int(h.pointee.nlmsg_len)))
    }
}

/// What the callbacks collect while one request is answered.
private final class ReceiveState {
    var sequence: UInt32 = 0
    var messages: [NetlinkMessage] = []
    var done = false
    var interrupted = false
    var error: KernelError?
}

private func state(_ arg: UnsafeMutableRawPointer?) -> ReceiveState {
    Unmanaged<ReceiveState>.fromOpaque(arg!).takeUnretainedValue()
}

private func copyMessage(_ hdr: UnsafePointer<nlmsghdr>) -> NetlinkMessage? {
    let len = Int(hdr.pointee.nlmsg_len)
    return NetlinkMessage(bytes: UnsafeRawBufferPointer(start: UnsafeRawPointer(hdr), count: len))
}

private let actionOK = Int32(NL_OK.rawValue)
private let actionSkip = Int32(NL_SKIP.rawValue)
private let actionStop = Int32(NL_STOP.rawValue)

// Callbacks: plain C function pointers, defined at file scope (not in main.swift) on purpose.

private let receiveValid: nl_recvmsg_msg_cb_t = { msg, arg in
    let s = state(arg)
    if let m = copyMessage(nlmsg_hdr(msg)) {
        if m.flags & UInt16(NLM_F_DUMP_INTR) != 0 { s.interrupted = true }
        s.messages.append(m)
    }
    return actionOK
}

private let receiveAck: nl_recvmsg_msg_cb_t = { _, arg in
    state(arg).done = true
    return actionStop
}

private let receiveFinish: nl_recvmsg_msg_cb_t = { msg, arg in
    let s = state(arg)
    s.done = true
    if let m = copyMessage(nlmsg_hdr(msg)) {
        if m.flags & UInt16(NLM_F_DUMP_INTR) != 0 { s.interrupted = true }
        if let e = kernelFailure(in: m) { s.error = e }
    }
    return actionStop
}

/// Skips anything that is not an answer to the request in flight (e.g. the rest of a dump that an
/// earlier error abandoned).
private let checkSequence: nl_recvmsg_msg_cb_t = { msg, arg in
    nlmsg_hdr(msg).pointee.nlmsg_seq == state(arg).sequence ? actionOK : actionSkip
}

private let receiveError: nl_recvmsg_err_cb_t = { _, err, arg in
    let s = state(arg)
    s.done = true
    // `err` points into the received buffer right after the message's nlmsghdr.
    let hdr = UnsafeRawPointer(err!).advanced(by: -MemoryLayout<nlmsghdr>.size)
        .assumingMemoryBound(to: nlmsghdr.self)
    if let m = copyMessage(hdr), let e = kernelFailure(in: m) {
        s.error = e
    } else {
        s.error = KernelError(errno: -err!.pointee.error, operation: "")
    }
    return actionStop
}
