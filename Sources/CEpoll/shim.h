#ifndef CONTROLNODE_CEPOLL_SHIM_H
#define CONTROLNODE_CEPOLL_SHIM_H

/* Glibc's Swift module map leaves out epoll, which the transport's readiness thread uses. */
#include <sys/epoll.h>

#endif
