/*
 * cfut_errors_int.h: statuses on the wire. Error responses carry a status
 * in 4 bytes (docs/wire-format.md); negated errno values travel in Linux
 * numbering, so that peers on systems with other errno numbers (the browser
 * build) agree. Internal: never included by a public header.
 */
#ifndef CFUT_ERRORS_INT_H
#define CFUT_ERRORS_INT_H

#include <stdint.h>

#include "cfut_errors.h"

/*
 * Returns the wire value of 'status': itself for 0 and cfut's own codes;
 * for a negated errno, the negated Linux number of that error (on Linux:
 * itself). Elsewhere an errno this library cannot name travels as -5
 * (EIO).
 */
int32_t cfut__status_to_wire(int status);

/*
 * Returns the status that the wire value 'wire' stands for on this system
 * (the inverse of cfut__status_to_wire()); on a system other than Linux, a
 * Linux errno it cannot name gives CFUT_EIO.
 */
int cfut__status_from_wire(int32_t wire);

#endif /* CFUT_ERRORS_INT_H */
