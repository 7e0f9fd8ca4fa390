/*
 * drift.c -- has a committed run's input drifted since it ran (drift.h)?
 * A dry run of the run's stored config and window, compared by hashes.
 */
#include "coopsettle/drift.h"

#include <stdio.h>
#include <string.h>

#include "coopsettle/run.h"

int cs_drift_check(const char *conninfo, const cs_stored_run *run, cs_drift *out,
		   cs_error *err)
{
	cs_config *cfg = NULL;
	cs_window w;
	cs_run_opts ro;
	cs_run_result res;
	cs_error run_err;
	int rc;

	memset(out, 0, sizeof(*out));
	if (cs_stored_run_config(run, &cfg, &w, err) < 0)
		return -1;
	memset(&ro, 0, sizeof(ro));
	ro.window = w;
	ro.conninfo = conninfo;
	ro.cfg = cfg;
	ro.dry_run = 1;
	ro.summary_only = 1;
	cs_run_result_init(&res);
	cs_error_clear(&run_err);
	rc = strcmp(run->kind, "settle") == 0 ? cs_run_settle(&ro, &res, &run_err)
					      : cs_run_distribute(&ro, &res, &run_err);
	if (rc < 0 && run_err.exit_code != CS_EXIT_DATA) {
		*err = run_err; /* the check could not run: no finding */
		goto done;
	}
	if (rc < 0) {
		out->kind = CS_DRIFT_CANNOT;
		snprintf(out->why, sizeof(out->why),
			 "it cannot be recomputed from the current database: %.400s",
			 run_err.message);
		rc = 0;
		goto done;
	}
	snprintf(out->input_sha256, sizeof(out->input_sha256), "%s", res.input_hash);
	snprintf(out->output_sha256, sizeof(out->output_sha256), "%s", res.output_hash);
	if (strcmp(res.input_hash, run->input_sha256) != 0) {
		out->kind = CS_DRIFT_INPUT;
		snprintf(out->why, sizeof(out->why),
			 "its inputs changed since the run (input_sha256 %.12s..., now %.12s...)",
			 run->input_sha256, res.input_hash);
	} else if (strcmp(res.output_hash, run->output_sha256) != 0) {
		out->kind = CS_DRIFT_OUTPUT;
		snprintf(out->why, sizeof(out->why),
			 "it does not reproduce: the same inputs give another output "
			 "(output_sha256 %.12s..., now %.12s...)",
			 run->output_sha256, res.output_hash);
	}
	rc = 0;
done:
	cs_run_result_free(&res);
	cs_config_free(cfg);
	return rc;
}
