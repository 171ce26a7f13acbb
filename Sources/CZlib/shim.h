#ifndef CONTROLNODE_CZLIB_SHIM_H
#define CONTROLNODE_CZLIB_SHIM_H

#include <zlib.h>

#endif
