#include "sl_log.h"

int sl_logtype;

RTE_INIT(sl_log_init)
{
	sl_logtype = rte_log_register_type_and_pick_level("sluice", RTE_LOG_INFO);
	if (sl_logtype < 0)
		sl_logtype = RTE_LOGTYPE_USER1;
}
