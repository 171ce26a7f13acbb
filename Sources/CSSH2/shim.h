#ifndef CONTROLNODE_CSSH2_SHIM_H
#define CONTROLNODE_CSSH2_SHIM_H

#include <libssh2.h>
#include <libssh2_sftp.h>
#include <errno.h>
#include <stdint.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <time.h>

/* Constants that are expressions in libssh2.h, which Swift does not import. */
static const unsigned int cssh2_channel_window_default = LIBSSH2_CHANNEL_WINDOW_DEFAULT;
static const unsigned int cssh2_channel_packet_default = LIBSSH2_CHANNEL_PACKET_DEFAULT;

/* When the session last received bytes from its socket, on CLOCK_MONOTONIC, in nanoseconds.
   The session's abstract pointer points at one of these; the receive hook below updates it. */
typedef struct {
    int64_t last_receive_ns;
} cssh2_traffic;

static inline int64_t cssh2_monotonic_ns(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
}

/* libssh2's own receive function, plus a timestamp of the last bytes seen: the daemon's
   dead-connection check counts any traffic from the server as a sign of life. */
static inline ssize_t cssh2_receive(libssh2_socket_t socket, void *buffer, size_t length, int flags,
                                    void **abstract) {
    ssize_t received = recv(socket, buffer, length, flags);
    if (received < 0) {
        if (errno == EWOULDBLOCK || errno == ENOENT) return -EAGAIN;
        return -errno;
    }
    if (received > 0) {
        /* sshd leaves Nagle on for non-interactive sessions: its back-to-back small packets wait for our
           ACK, which the kernel delays by up to 40 ms. Acknowledge at once instead. */
        int one = 1;
        setsockopt(socket, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
        if (abstract && *abstract) {
            ((cssh2_traffic *)*abstract)->last_receive_ns = cssh2_monotonic_ns();
        }
    }
    return received;
}

/* Installs the receive function above; a function pointer passed as void * is not expressible in Swift. */
static inline void cssh2_install_receive_hook(LIBSSH2_SESSION *session) {
    libssh2_session_callback_set(session, LIBSSH2_CALLBACK_RECV, (void *)cssh2_receive);
}

#endif
