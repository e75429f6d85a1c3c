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

/*
 * Returns the status for getaddrinfo()'s result 'rc' (EAI_* or 0), with
 * 'err' the errno it left (read for EAI_SYSTEM): 0; CFUT_EAI_NONAME,
 * CFUT_EAI_AGAIN, CFUT_EAI_FAIL, CFUT_EAI_NODATA (also for
 * EAI_ADDRFAMILY); CFUT_ENOMEM (EAI_MEMORY); -'err' (EAI_SYSTEM, or
 * CFUT_EAI_FAIL when 'err' is 0); CFUT_EINVAL for the codes that mean the
 * query itself was wrong (EAI_BADFLAGS, EAI_FAMILY, EAI_SOCKTYPE,
 * EAI_SERVICE); CFUT_EAI_FAIL for any other.
 */
int cfut__status_from_gai(int rc, int err);

#endif /* CFUT_ERRORS_INT_H */
