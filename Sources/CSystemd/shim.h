#ifndef CONTROLNODE_CSYSTEMD_SHIM_H
#define CONTROLNODE_CSYSTEMD_SHIM_H

#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>

#endif
