#ifndef TELEMETRY_CTL_H
#define TELEMETRY_CTL_H

/* Internal to lib/telemetry: the write side (telemetry_ctl.c). */

#include "sl_lcore_types.h"

int
tel_ctl_register(struct sl_dp *dp);

#endif
