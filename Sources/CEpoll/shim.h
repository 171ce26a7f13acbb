#ifndef CONTROLNODE_CEPOLL_SHIM_H
#define CONTROLNODE_CEPOLL_SHIM_H

/* Glibc's Swift module map leaves out epoll and eventfd, which the transport's event thread uses. */
#include <sys/epoll.h>
#include <sys/eventfd.h>

#endif
