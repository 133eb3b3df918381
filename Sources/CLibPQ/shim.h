#ifndef SNAPSYNC_CLIBPQ_SHIM_H
#define SNAPSYNC_CLIBPQ_SHIM_H
#include <libpq-fe.h>
#endif
