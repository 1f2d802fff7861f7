#ifndef SL_CORE_H
#define SL_CORE_H

/* Limits shared by every module. Sized for an appliance, checked by the config. */
#define SL_MAX_PORTS     8
#define SL_MAX_WORKERS   RTE_MAX_LCORE
#define SL_NAME_MAX      64

#endif
