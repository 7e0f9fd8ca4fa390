/*
 * limits.h -- every bound coopsettle puts on what grows.
 *
 * Each limit is a named constant with the reason for its value. Inputs that
 * exceed a limit are rejected with a message, never truncated.
 */
#ifndef COOPSETTLE_LIMITS_H
#define COOPSETTLE_LIMITS_H

/* A config file is a few kilobytes; 1 MiB leaves room and stops a 100 MB file early. */
#define CS_CONFIG_BYTES_MAX (1024 * 1024)
/* The deepest legitimate nesting is fees[].tiers[].{} = 5 levels; 32 is generous. */
#define CS_CONFIG_DEPTH_MAX 32
/* Errors reported from one file before giving up: enough to fix a file in one go. */
#define CS_CONFIG_ERRORS_MAX 50
/* Currencies in one config (ISO 4217 has under 200). */
#define CS_CURRENCIES_MAX 64
/* Fee rules; each transaction is tried against them in order. */
#define CS_RULES_MAX 1000
/* Tiers of one rule. */
#define CS_TIERS_MAX 64
/* Categories or currencies listed in one `when`. */
#define CS_WHEN_LIST_MAX 1000
/* Surplus waterfall steps. */
#define CS_STEPS_MAX 64
#define CS_FUNDS_MAX 16
#define CS_FUND_ACCOUNTS_MAX 32
#define CS_VAT_ACCOUNTS_MAX 16
#define CS_LOSS_COVER_MAX 16
#define CS_OPENING_MAX 64
/* Classes named in one patronage step (producer, consumer). */
#define CS_CLASSES_MAX 2
/* Length of an id, account name, relation name, category or cooperative name. */
#define CS_NAME_BYTES_MAX 200
/* Bytes of the schema or table part of a relation name: PostgreSQL keeps
 * NAMEDATALEN - 1 = 63 and silently cuts a longer name, which would then name
 * another relation than the config says. */
#define CS_PG_NAME_BYTES_MAX 63
/* Digits in one number in the config: 30 decimal digits exceed any real amount
 * (int64 has 19) and keep every GMP value small, so GMP never aborts on OOM. */
#define CS_NUMBER_DIGITS_MAX 30
/* Minor-unit exponent of a currency (ISO 4217 uses 0..4). */
#define CS_EXPONENT_MAX 9
/* Invalid rows printed on abort (spec section 4). */
#define CS_REJECTS_PRINTED_MAX 20
/* Bytes of one category value read from the database. */
#define CS_CATEGORY_BYTES_MAX 4096
/* Days of close_after: a window closes at most a year after its end (a
 * longer wait would leave a year's runs unsettled). */
#define CS_CLOSE_AFTER_DAYS_MAX 366
/* Bytes of --reason TEXT: a sentence or two for the record, not a file. */
#define CS_REASON_BYTES_MAX 1000
/* Config key paths named when a config differs from a superseded run's. */
#define CS_CONFIG_CHANGES_MAX 50
/* How long to wait for the backend of a connection lost during COMMIT to end
 * before asking whether its run landed: a terminated backend ends in
 * milliseconds; past this the answer is "unknown" rather than a hang. */
#define CS_LOST_COMMIT_WAIT_MS 10000

#endif
