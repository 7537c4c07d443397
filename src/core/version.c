/* The build's commit, compiled into this one file alone (see CMakeLists.txt). */
#include "core/core.h"

#ifndef VIGIL_COMMIT
#define VIGIL_COMMIT "unknown"
#endif

const char *vg_commit(void) { return VIGIL_COMMIT; }
