#include <stddef.h>

#include "sl_drop.h"

static const char *const drop_names[SL_DROP_MAX] = {
#define SL_DROP(sym, name, desc) [SL_DROP_##sym] = name,
#include "sl_drop.def"
#undef SL_DROP
};

static const char *const drop_descs[SL_DROP_MAX] = {
#define SL_DROP(sym, name, desc) [SL_DROP_##sym] = desc,
#include "sl_drop.def"
#undef SL_DROP
};

const char *
sl_drop_name(unsigned int reason)
{
	return reason < SL_DROP_MAX ? drop_names[reason] : NULL;
}

const char *
sl_drop_desc(unsigned int reason)
{
	return reason < SL_DROP_MAX ? drop_descs[reason] : NULL;
}
