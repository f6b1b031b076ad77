/*
 * dirs.h — directories the broker makes for itself (data_dir).
 */
#ifndef CQ_CORE_DIRS_H
#define CQ_CORE_DIRS_H

#include <stddef.h>
#include <sys/types.h>

/*
 * 'dir' (made with 'mode') and its missing parents (0755, so that a user
 * the broker switches to can reach 'dir'): mkdir -p.  1 when
 * 'dir' itself was made, 0 when it was a directory already, -1 on error:
 * errno, and 'failed' (failed_len bytes) gets the path that could not be
 * made or is not a directory (ENOTDIR).
 */
int cq_mkdir_p(const char *dir, mode_t mode, char *failed, size_t failed_len);

#endif /* CQ_CORE_DIRS_H */
