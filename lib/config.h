/* config: process-wide settings, read once at start-up.
 *
 * Sources, later ones winning: built-in defaults, the file
 * (/etc/cairn/cairn.conf or --config FILE; lines of `key = value`, `#`
 * comments), then CAIRN_* environment variables (`db.host` is
 * CAIRN_DB_HOST).  Every key is declared in config.c with its type, range
 * and documentation; an unknown key or a bad value is an error at load, so
 * the typed getters below never fail.  Not thread-safe; read-only after
 * load. */
#ifndef CAIRN_CONFIG_H
#define CAIRN_CONFIG_H

#include <stdbool.h>
#include <stdio.h>

#include "diag.h"

#define CONFIG_DEFAULT_PATH "/etc/cairn/cairn.conf"

/* Resets to defaults, reads path (NULL: the default path, which may be
 * absent) and applies the environment.  All or nothing: on error the
 * settings in force before the call stay. */
int config_load(const char *path, struct diag *d);
/* Parses file text; origin names it in error messages. */
int config_parse_text(const char *text, size_t len, const char *origin, struct diag *d);
/* Sets one key from text, validating it. */
int config_set(const char *key, const char *value, struct diag *d);
void config_reset(void);

/* Getters for declared keys; an undeclared key aborts (a programming
 * error). The string is owned by the config. */
const char *config_str(const char *key);
long long config_int(const char *key);
bool config_bool(const char *key);

/* Writes every key with its default and documentation (markdown table). */
void config_describe(FILE *out);

#endif
