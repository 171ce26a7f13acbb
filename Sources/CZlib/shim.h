#ifndef CONTROLNODE_CZLIB_SHIM_H
#define CONTROLNODE_CZLIB_SHIM_H

#include <zlib.h>

/// inflateInit2 is a macro (it passes ZLIB_VERSION and sizeof(z_stream)); Swift cannot import it.
static inline int cnz_inflateInit2(z_streamp stream, int windowBits) {
    return inflateInit2(stream, windowBits);
}

#endif
