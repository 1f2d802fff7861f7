#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "sl_conf.h"
#include "conf_private.h"

void
conf_diag_add(struct sl_conf_diag *diag, bool warning, const char *pointer,
	      const char *fmt, ...)
{
	struct sl_conf_msg *m;
	va_list ap;

	if (diag->n_msgs == diag->cap) {
		unsigned int cap = diag->cap ? diag->cap * 2 : 16;
		struct sl_conf_msg *v = realloc(diag->msgs, cap * sizeof(*v));

		if (v == NULL) {
			/* Out of memory while reporting: keep the count honest. */
			if (warning)
				diag->n_warnings++;
			else
				diag->n_errors++;
			return;
		}
		diag->msgs = v;
		diag->cap = cap;
	}
	m = &diag->msgs[diag->n_msgs++];
	m->warning = warning;
	snprintf(m->pointer, sizeof(m->pointer), "%s",
		 pointer[0] != '\0' ? pointer : "/");
	va_start(ap, fmt);
	vsnprintf(m->text, sizeof(m->text), fmt, ap);
	va_end(ap);
	if (warning)
		diag->n_warnings++;
	else
		diag->n_errors++;
}

void
sl_conf_diag_print(const struct sl_conf_diag *diag, const char *file, FILE *out)
{
	for (unsigned int i = 0; i < diag->n_msgs; i++) {
		const struct sl_conf_msg *m = &diag->msgs[i];

		fprintf(out, "%s: %s: %s%s\n", file, m->pointer,
			m->warning ? "warning: " : "", m->text);
	}
}

void
sl_conf_diag_free(struct sl_conf_diag *diag)
{
	free(diag->msgs);
	memset(diag, 0, sizeof(*diag));
}

void
sl_conf_diag_error(struct sl_conf_diag *diag, const char *pointer, const char *text)
{
	conf_diag_add(diag, false, pointer, "%s", text);
}

void
sl_conf_diag_warning(struct sl_conf_diag *diag, const char *pointer, const char *text)
{
	conf_diag_add(diag, true, pointer, "%s", text);
}
