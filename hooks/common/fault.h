/* Test-only fault points: a named place where a test can make the process die, to prove what a
 * kill at that instant leaves behind. Compiled in only when the build has PH_FAULT_POINTS (meson
 * option fault_points, on by default in builds that build the tests); then the process _exits with
 * PH_FAULT_EXIT at the point whose name is in $PODHOOK_TEST_FAULT. Elsewhere it is a no-op.
 * Points: "after-2xx" (outbox.c: a signal was answered 2xx and its delivery recorded),
 * "zaqar-after-claim" (source-zaqar.c: messages were claimed, nothing is stored or deleted yet),
 * "zaqar-before-delete" (source-zaqar.c: the metadata is stored, its messages are not deleted yet).
 * And a count: with PH_FAULT_WRITES_ENV=N the process SIGKILLs itself right after the Nth durable
 * change of a file (file_write_atomic, file_move, file_remove), as the Engine calls are counted by
 * PODHOOK_TEST_CRASH_AFTER_CALLS (docker.h). */
#pragma once

#define PH_FAULT_EXIT       86
#define PH_FAULT_WRITES_ENV "PODHOOK_TEST_CRASH_AFTER_WRITES"

void ph_fault_point(const char *name);
void ph_fault_after_write(void);
