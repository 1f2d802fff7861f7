#ifndef SL_DROP_H
#define SL_DROP_H

/* Drop reasons: one enum, one name table, generated from sl_drop.def. */

enum sl_drop_reason {
#define SL_DROP(sym, name, desc) SL_DROP_##sym,
#include "sl_drop.def"
#undef SL_DROP
	SL_DROP_MAX
};

/* Telemetry name of a reason ("ip_bad_cksum"); NULL when out of range. */
const char *
sl_drop_name(unsigned int reason);

/* One-line description of a reason, for docs and help. */
const char *
sl_drop_desc(unsigned int reason);

#endif
