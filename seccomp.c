// SPDX-License-Identifier: GPL-2.0-or-later
/* seccomp.c - the system calls merd makes once it serves, and no others
 *
 * Copyright (c) 2026 merd authors
 *
 * A classic BPF program, written out here rather than built by
 * libseccomp: the list is short and fixed, it is the same on every
 * machine, and merd needs no further library. The program checks the
 * architecture first (a system call of another ABI, such as x32 or i386
 * on x86_64, is refused: its numbers mean other calls), then compares the
 * number with each allowed one.
 *
 * A call outside the list isn't made: the kernel sends SIGSYS (and logs
 * the trap in the audit log), merd's handler writes which call it was to
 * stderr and the log file, and merd exits with status 1. A missing entry
 * shows at once in the tests, which run merd under this filter.
 *
 * Sanitiser builds (the tests' merd) also allow what AddressSanitizer's
 * reports and LeakSanitizer's exit check need.
 */

#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "log.h"
#include "seccomp.h"
#include "util.h"

#if defined(__x86_64__)
#define SECCOMP_ARCH	AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define SECCOMP_ARCH	AUDIT_ARCH_AARCH64
#else
/* cppcheck-suppress preprocessorErrorDirective */
#error "seccomp.c: no audit architecture for this machine"
#endif

/* What merd's event loop calls, as libc makes the calls */
static const long seccomp_allowed[] = {
	/* Frames, packets, the log and the capture */
	SYS_read, SYS_write, SYS_writev, SYS_readv,
	SYS_recvfrom, SYS_recvmsg, SYS_recvmmsg,
	SYS_sendto, SYS_sendmsg, SYS_sendmmsg,
	/* The loop, its timer and signals */
	SYS_epoll_ctl, SYS_epoll_pwait,
#ifdef SYS_epoll_wait
	SYS_epoll_wait,
#endif
	SYS_clock_gettime, SYS_clock_nanosleep, SYS_getrandom, SYS_ppoll,
#ifdef SYS_poll
	SYS_poll,
#endif
	SYS_rt_sigreturn, SYS_rt_sigprocmask, SYS_restart_syscall,
	/* Guests connecting; host ports claimed and given back; netlink
	 * dumps when the host changes
	 */
	SYS_accept4, SYS_socket, SYS_bind, SYS_listen, SYS_connect,
	SYS_setsockopt, SYS_getsockopt, SYS_getsockname, SYS_close,
	SYS_fcntl,
	/* The log file cut back to nothing when full */
	SYS_lseek, SYS_ftruncate, SYS_fstat,
#ifdef SYS_newfstatat
	SYS_newfstatat,
#endif
	/* Memory, for what libc allocates outside the data path */
	SYS_brk, SYS_mmap, SYS_munmap, SYS_mremap, SYS_madvise,
	/* Nothing can be opened in the empty root: what libc tries (time
	 * zone, syslog reconnecting) fails with ENOENT instead of a trap
	 */
	SYS_openat,
	/* Leaving: the socket and PID files removed where merd may */
	SYS_unlinkat,
#ifdef SYS_unlink
	SYS_unlink,
#endif
	SYS_getpid, SYS_exit, SYS_exit_group,
#if defined(__SANITIZE_ADDRESS__)
	/* AddressSanitizer and LeakSanitizer (the tests' build) */
	SYS_mprotect, SYS_sigaltstack, SYS_rt_sigaction, SYS_gettid,
	SYS_tgkill, SYS_clone, SYS_ptrace, SYS_wait4, SYS_prctl,
	SYS_sched_yield, SYS_readlinkat, SYS_getdents64, SYS_futex,
	SYS_set_robust_list, SYS_kill, SYS_pipe2, SYS_dup, SYS_dup3,
#ifdef SYS_readlink
	SYS_readlink,
#endif
#ifdef SYS_open
	SYS_open,
#endif
#endif
};

/* One comparison per allowed call; four before them, two returns after */
#define SECCOMP_LEN	(ARRAY_SIZE(seccomp_allowed) + 6)

/**
 * seccomp_num() - write a decimal number, without libc's stdio
 * @buf:	at least 21 bytes
 * @v:		number
 *
 * Return: its length
 */
static size_t seccomp_num(char *buf, unsigned long v)
{
	char tmp[24];
	size_t n = 0, i;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (i = 0; i < n; i++)
		buf[i] = tmp[n - 1 - i];
	return n;
}

/**
 * seccomp_sigsys() - a call outside the list was trapped: say which, exit
 * @sig:	SIGSYS
 * @info:	si_syscall holds the call's number
 * @uctx:	unused
 *
 * Async-signal-safe: only write() and _exit(), both allowed.
 */
static void seccomp_sigsys(int sig, siginfo_t *info, void *uctx)
{
	static const char head[] = "merd: system call ";
	static const char tail[] = " is outside merd's seccomp filter: "
				   "exiting\n";
	char msg[sizeof(head) + sizeof(tail) + 24];
	size_t n = sizeof(head) - 1;

	(void)sig;
	(void)uctx;
	memcpy(msg, head, n);
	n += seccomp_num(msg + n, (unsigned long)info->si_syscall);
	memcpy(msg + n, tail, sizeof(tail) - 1);
	n += sizeof(tail) - 1;
	if (write(STDERR_FILENO, msg, n) < 0)
		n = 0;
	log_raw(msg, n);
	_exit(EXIT_FAILURE);
}

/**
 * seccomp_install() - allow the calls of seccomp_allowed[], trap the rest
 *
 * Needs no_new_privs set (or CAP_SYS_ADMIN).
 *
 * Return: 0 on success, -errno
 */
int seccomp_install(void)
{
	struct sock_filter f[SECCOMP_LEN];
	struct sock_fprog prog = { .len = SECCOMP_LEN, .filter = f };
	struct sigaction sa = { .sa_sigaction = seccomp_sigsys,
				.sa_flags = SA_SIGINFO };
	size_t i, n = 0, allowed = ARRAY_SIZE(seccomp_allowed);

	/* The architecture, then the number */
	f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			offsetof(struct seccomp_data, arch));
	f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
			SECCOMP_ARCH, 1, 0);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
			SECCOMP_RET_KILL_PROCESS);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			offsetof(struct seccomp_data, nr));
	/* Entry i jumps to the "allow" at the end, past the "trap" */
	for (i = 0; i < allowed; i++)
		f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ |
				BPF_K, (uint32_t)seccomp_allowed[i],
				(uint8_t)(allowed - i), 0);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
			SECCOMP_RET_TRAP);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
			SECCOMP_RET_ALLOW);

	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL))
		return -errno;
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog))
		return -errno;
	return 0;
}
