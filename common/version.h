/* version.h - what the programs say they are: the release (ETL_VERSION,
 * the Makefile's VERSION) and the source revision they were built from
 * (ETL_REVISION, `git describe` by the Makefile; "unknown" when a build
 * does not pass it). */
#ifndef ETL_VERSION_H
#define ETL_VERSION_H

#ifndef ETL_REVISION
#define ETL_REVISION "unknown"
#endif

/* The text of --version after the program's name. */
#define ETL_VERSION_TEXT ETL_VERSION " (" ETL_REVISION ")"

#endif
