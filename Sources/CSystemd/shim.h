#ifndef CONTROLNODE_CSYSTEMD_SHIM_H
#define CONTROLNODE_CSYSTEMD_SHIM_H

/* Without this, sd-journal.h turns sd_journal_sendv into a macro that adds the C caller's location; Swift
   passes CODE_FILE/CODE_LINE/CODE_FUNC of the Swift call site itself. */
#define SD_JOURNAL_SUPPRESS_LOCATION 1

#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>

#endif
