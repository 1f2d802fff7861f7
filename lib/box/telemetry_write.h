#ifndef TELEMETRY_WRITE_H
#define TELEMETRY_WRITE_H

/* Internal to lib/telemetry: the write side (telemetry_write.c). */

#include "sl_lcore_types.h"

int
tel_write_register(struct sl_dp *dp);

#endif
