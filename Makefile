# SPDX-License-Identifier: GPL-2.0-or-later
# merd - MacVTap Egress and Routing Daemon
#
#   make		build merd and qrap
#   make check		install missing test dependencies, build, run every test
#   make demo		boot a throwaway guest through merd in private namespaces
#   make install	install to $(DESTDIR)$(PREFIX)
#   make deb		build a Debian package (../merd_VERSION_ARCH.deb)
#   make cppcheck, make clang-tidy	static checks (.clang-format: editors)
#   make fuzz		build the libFuzzer harnesses and run each a while

# The release: what --version prints, whether built from git or a tarball;
# debian/changelog's top entry carries the same (test_docs.py checks)
VERSION := 0.9.0

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
DOCDIR ?= $(PREFIX)/share/doc/merd
DESTDIR ?=

CC ?= cc
PKG_CONFIG ?= pkg-config
PYTHON ?= /usr/bin/python3
NPROC ?= $(shell nproc 2>/dev/null || echo 1)

MNL_CFLAGS := $(shell $(PKG_CONFIG) --cflags libmnl 2>/dev/null)
MNL_LIBS := $(shell $(PKG_CONFIG) --libs libmnl 2>/dev/null || echo -lmnl)

WARNINGS := -Wall -Wextra -Werror -pedantic -Wshadow -Wmissing-prototypes \
	-Wstrict-prototypes -Wcast-qual -Wsign-compare -Wformat=2 \
	-Wpointer-arith -Wvla -Wundef
HARDENING := -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fPIE
CFLAGS ?= -O2 -g
override CFLAGS += -std=c11 -D_GNU_SOURCE -DMERD_VERSION='"$(VERSION)"' \
	$(WARNINGS) $(HARDENING) $(MNL_CFLAGS)
override LDFLAGS += -pie -Wl,-z,relro,-z,now

MERD_SRCS := merd.c conf.c log.c tap.c arp.c dhcp.c ip.c ip4.c ip6.c csum.c netlink.c \
	fwd.c conntrack.c nat.c port.c raw.c icmp.c icmp6.c tcp.c frag.c ndp.c \
	dhcpv6.c fwdrule.c inbound.c flowtab.c systemd.c host.c pcap.c isolation.c seccomp.c \
	neigh.c uplink.c
MERD_HDRS := merd.h conf.h log.h tap.h arp.h dhcp.h ip.h ip4.h ip6.h csum.h netlink.h \
	pkt.h fwd.h conntrack.h nat.h port.h raw.h icmp.h icmp6.h tcp.h frag.h siphash.h util.h inany.h epoll.h \
	ndp.h dhcpv6.h fwdrule.h inbound.h flowtab.h systemd.h host.h pcap.h isolation.h seccomp.h \
	neigh.h uplink.h
QRAP_SRCS := qrap.c

# Sanitiser flags for the unit tests and the instrumented merd of the tests
SAN := -fsanitize=address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer

.PHONY: all clean install uninstall check unit integration e2e deps demo \
	integration-shared integration-solo cppcheck clang-tidy fuzz bench deb

all: merd qrap

merd: $(MERD_SRCS) $(MERD_HDRS) Makefile
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(MERD_SRCS) $(MNL_LIBS)

qrap: $(QRAP_SRCS) Makefile
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(QRAP_SRCS)

# merd built with AddressSanitizer and UBSan: the integration tests run this
# one, so that a memory error on any path they reach fails them
test/merd-san: $(MERD_SRCS) $(MERD_HDRS) Makefile
	$(CC) $(CFLAGS) $(SAN) $(LDFLAGS) -o $@ $(MERD_SRCS) $(MNL_LIBS)

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(DOCDIR) $(DESTDIR)$(MANDIR)/man1
	install -m 755 merd qrap $(DESTDIR)$(BINDIR)/
	install -m 644 README.md $(DESTDIR)$(DOCDIR)/
	install -m 644 doc/merd.1 doc/qrap.1 $(DESTDIR)$(MANDIR)/man1/
	install -d $(DESTDIR)$(PREFIX)/lib/systemd/system
	sed 's|/usr/local|$(PREFIX)|g' doc/merd@.service \
		>$(DESTDIR)$(PREFIX)/lib/systemd/system/merd@.service
	install -m 644 doc/merd@.socket $(DESTDIR)$(PREFIX)/lib/systemd/system/

# The Debian package, from debian/ (which runs make install): needs
# dpkg-dev and debhelper; cleans the tree first, leaves the .deb in ..
deb:
	dpkg-buildpackage -us -uc -b

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/merd $(DESTDIR)$(BINDIR)/qrap
	rm -f $(DESTDIR)$(MANDIR)/man1/merd.1 $(DESTDIR)$(MANDIR)/man1/qrap.1
	rm -f $(DESTDIR)$(PREFIX)/lib/systemd/system/merd@.service
	rm -f $(DESTDIR)$(PREFIX)/lib/systemd/system/merd@.socket
	rm -rf $(DESTDIR)$(DOCDIR)

# Unit tests (cmocka): each links the units it tests, with sanitisers
UNIT_TESTS := test/unit/test_csum test/unit/test_tap test/unit/test_arp \
	test/unit/test_dhcp test/unit/test_nat test/unit/test_conntrack \
	test/unit/test_frag test/unit/test_raw test/unit/test_port \
	test/unit/test_icmp test/unit/test_tcp test/unit/test_fwd \
	test/unit/test_alloc test/unit/test_ip test/unit/test_ndp \
	test/unit/test_ip6 test/unit/test_dhcpv6 test/unit/test_fwdrule \
	test/unit/test_inbound test/unit/test_pcap test/unit/test_tso \
	test/unit/test_neigh test/unit/test_uplink
UNIT_CFLAGS = $(CFLAGS) $(SAN) -I.
UNIT_LIBS = -lcmocka $(MNL_LIBS)

test/unit/test_csum: test/unit/test_csum.c test/unit/unit.h csum.c csum.h
	$(CC) $(UNIT_CFLAGS) -o $@ $< csum.c $(UNIT_LIBS)

test/unit/test_pcap: test/unit/test_pcap.c test/unit/unit.h pcap.c log.c \
		pcap.h log.h tap.h util.h
	$(CC) $(UNIT_CFLAGS) -o $@ $< pcap.c log.c $(UNIT_LIBS)

# Everything but start-up: what a frame from the guest can reach
DATAPATH_SRCS := tap.c arp.c dhcp.c ip.c ip4.c ip6.c csum.c log.c fwd.c conntrack.c \
	nat.c port.c raw.c icmp.c icmp6.c tcp.c frag.c ndp.c dhcpv6.c fwdrule.c \
	inbound.c systemd.c pcap.c uplink.c neigh.c

test/unit/test_tap: test/unit/test_tap.c test/unit/unit.h $(DATAPATH_SRCS) \
		$(MERD_HDRS)
	$(CC) $(UNIT_CFLAGS) -o $@ $< $(DATAPATH_SRCS) $(UNIT_LIBS)

test/unit/test_arp: test/unit/test_arp.c test/unit/unit.h arp.c ip4.c \
		csum.c log.c $(MERD_HDRS)
	$(CC) $(UNIT_CFLAGS) -o $@ $< arp.c ip4.c csum.c log.c $(UNIT_LIBS)

test/unit/test_ndp: test/unit/test_ndp.c test/unit/unit.h ndp.c ip6.c \
		dhcp.c ip4.c csum.c log.c $(MERD_HDRS)
	$(CC) $(UNIT_CFLAGS) -o $@ $< ndp.c ip6.c dhcp.c ip4.c csum.c log.c \
		$(UNIT_LIBS)

test/unit/test_dhcp: test/unit/test_dhcp.c test/unit/unit.h dhcp.c ip4.c \
		csum.c log.c $(MERD_HDRS)
	$(CC) $(UNIT_CFLAGS) -o $@ $< dhcp.c ip4.c csum.c log.c $(UNIT_LIBS)

test/unit/test_dhcpv6: test/unit/test_dhcpv6.c test/unit/unit.h dhcpv6.c \
		dhcp.c ip6.c ip4.c csum.c log.c $(MERD_HDRS)
	$(CC) $(UNIT_CFLAGS) -o $@ $< dhcpv6.c dhcp.c ip6.c ip4.c csum.c log.c \
		$(UNIT_LIBS)

test/unit/test_ip: test/unit/test_ip.c test/unit/unit.h test/unit/ref.h \
		ip.c ip4.c csum.c $(MERD_HDRS)
	$(CC) $(UNIT_CFLAGS) -o $@ $< ip.c ip4.c csum.c $(UNIT_LIBS)

test/unit/test_ip6: test/unit/test_ip6.c test/unit/unit.h test/unit/ref.h \
		ip.c ip4.c ip6.c csum.c $(MERD_HDRS)
	$(CC) $(UNIT_CFLAGS) -o $@ $< ip.c ip4.c ip6.c csum.c $(UNIT_LIBS)

test/unit/test_nat: test/unit/test_nat.c test/unit/unit.h test/unit/ref.h \
		test/unit/ref6.h nat.c csum.c $(MERD_HDRS)
	$(CC) $(UNIT_CFLAGS) -o $@ $< nat.c csum.c $(UNIT_LIBS)

test/unit/test_conntrack: test/unit/test_conntrack.c test/unit/unit.h \
		conntrack.c $(MERD_HDRS)
	$(CC) $(UNIT_CFLAGS) -o $@ $< conntrack.c $(UNIT_LIBS)

test/unit/test_fwdrule: test/unit/test_fwdrule.c test/unit/unit.h fwdrule.c \
		fwdrule.h inany.h port.h util.h
	$(CC) $(UNIT_CFLAGS) -o $@ $< fwdrule.c $(UNIT_LIBS)

test/unit/test_frag: test/unit/test_frag.c test/unit/unit.h test/unit/ref.h \
		frag.c ip4.c csum.c $(MERD_HDRS)
	$(CC) $(UNIT_CFLAGS) -o $@ $< frag.c ip4.c csum.c $(UNIT_LIBS)

test/unit/test_raw: test/unit/test_raw.c test/unit/unit.h test/unit/ref.h \
		test/unit/ref6.h test/unit/netns.h $(DATAPATH_SRCS) $(MERD_HDRS)
	$(CC) $(UNIT_CFLAGS) -o $@ $< $(DATAPATH_SRCS) $(UNIT_LIBS)

# Binds ports: runs in a network namespace of its own (unshare(), as root)
test/unit/test_port: test/unit/test_port.c test/unit/unit.h test/unit/netns.h port.c \
		$(MERD_HDRS)
	$(CC) $(UNIT_CFLAGS) -o $@ $< port.c $(UNIT_LIBS)

UNIT_ENV_HDRS := test/unit/unit.h test/unit/ref.h test/unit/env.h \
	test/unit/ref6.h test/unit/env6.h

test/unit/test_icmp: test/unit/test_icmp.c $(UNIT_ENV_HDRS) \
		$(DATAPATH_SRCS) $(MERD_HDRS)
	$(CC) $(UNIT_CFLAGS) -o $@ $< $(DATAPATH_SRCS) $(UNIT_LIBS)

test/unit/test_tcp: test/unit/test_tcp.c $(UNIT_ENV_HDRS) \
		$(DATAPATH_SRCS) $(MERD_HDRS)
	$(CC) $(UNIT_CFLAGS) -o $@ $< $(DATAPATH_SRCS) $(UNIT_LIBS)

test/unit/test_fwd: test/unit/test_fwd.c $(UNIT_ENV_HDRS) \
		$(DATAPATH_SRCS) $(MERD_HDRS)
	$(CC) $(UNIT_CFLAGS) -o $@ $< $(DATAPATH_SRCS) $(UNIT_LIBS)

# Wraps sendmsg(): sees the resets and errors merd sends at once
test/unit/test_inbound: test/unit/test_inbound.c $(UNIT_ENV_HDRS) \
		$(DATAPATH_SRCS) $(MERD_HDRS)
	$(CC) $(UNIT_CFLAGS) -Wl,--wrap=sendmsg -o $@ $< $(DATAPATH_SRCS) \
		$(UNIT_LIBS)

# Wraps sendmmsg(): sees every piece of a guest segment merd cuts, past
# the send batch's 32
test/unit/test_tso: test/unit/test_tso.c $(UNIT_ENV_HDRS) \
		test/unit/conn.h $(DATAPATH_SRCS) $(MERD_HDRS)
	$(CC) $(UNIT_CFLAGS) -Wl,--wrap=sendmmsg -o $@ $< $(DATAPATH_SRCS) \
		$(UNIT_LIBS)

# Wraps sendmmsg() and neigh_mac(): sees what leaves on the raw sockets and
# on the AF_PACKET socket, and chooses the next hop's MAC without netlink
test/unit/test_uplink: test/unit/test_uplink.c $(UNIT_ENV_HDRS) \
		test/unit/conn.h $(DATAPATH_SRCS) $(MERD_HDRS)
	$(CC) $(UNIT_CFLAGS) -Wl,--wrap=sendmmsg,--wrap=neigh_mac -o $@ $< \
		$(DATAPATH_SRCS) $(UNIT_LIBS)

# Wraps send() and recvfrom() (__recvfrom_chk, fortified): sees neigh.c's
# requests, and hands it the kernel's answers and notifications the test
# writes
test/unit/test_neigh: test/unit/test_neigh.c test/unit/unit.h neigh.c log.c \
		$(MERD_HDRS)
	$(CC) $(UNIT_CFLAGS) \
		-Wl,--wrap=send,--wrap=recvfrom,--wrap=__recvfrom_chk \
		-o $@ $< neigh.c log.c $(MNL_LIBS) $(UNIT_LIBS)

# Holds ports and opens raw sockets: runs in a network namespace of its own
test/unit/test_alloc: test/unit/test_alloc.c $(UNIT_ENV_HDRS) test/unit/netns.h \
		$(DATAPATH_SRCS) $(MERD_HDRS)
	$(CC) $(UNIT_CFLAGS) -o $@ $< $(DATAPATH_SRCS) $(UNIT_LIBS)

# Every program runs, whatever the others did; any failure fails the stage
unit: $(UNIT_TESTS)
	@failed=; for t in $(UNIT_TESTS); do echo "== $$t"; \
		./$$t || failed="$$failed $$t"; done; \
	if [ -n "$$failed" ]; then echo "== failed:$$failed"; exit 1; fi

deps:
	test/deps.sh

PYTEST = $(PYTHON) -m pytest -v -rfExX --durations=15

integration: all test/merd-san test/pump
	$(PYTEST) test/

# check's two parts of it: what may share the CPU with the fuzzers, then
# the tests marked solo, which compare a rate through merd with the host's
integration-shared: all test/merd-san test/pump
	$(PYTEST) -m "not solo" test/

integration-solo: all test/merd-san test/pump
	$(PYTEST) -m solo test/

test/pump: test/pump.c
	$(CC) $(CFLAGS) -pthread -o $@ $<

# The stages in order; what builds uses every CPU. The integration suite
# waits on peers and timers most of its time (a whole check here used 13
# CPU-minutes of the 40 two CPUs had in its 20 minutes), so clang-tidy and
# the fuzzers (CHECK_FUZZ_SECONDS each, two at a time) run beside it at
# SCHED_IDLE, and their lines come once both are done. Idle priority
# doesn't make them free: a connection-rate test through merd fell to 64%
# of the host's rate beside them (140% and 160% alone), so the tests marked
# solo, which compare such rates, run last, alone
CHECK_FUZZ_SECONDS ?= 90

check: deps
	$(MAKE) -j$(NPROC) all test/merd-san test/pump
	$(MAKE) cppcheck
	$(MAKE) -j$(NPROC) $(UNIT_TESTS)
	$(MAKE) unit
	@chrt --idle 0 $(MAKE) -s -j2 clang-tidy fuzz \
		FUZZ_SECONDS=$(CHECK_FUZZ_SECONDS) FUZZ_JOBS=2 \
		>test/beside.log 2>&1 & beside=$$!; \
	$(MAKE) integration-shared; rc=$$?; \
	wait $$beside; brc=$$?; \
	echo "== clang-tidy and the fuzzers, beside the integration suite:"; \
	cat test/beside.log; \
	$(MAKE) integration-solo; src=$$?; \
	[ $$brc -eq 0 ] || echo "== clang-tidy or a fuzzer failed"; \
	[ $$rc -eq 0 ] && [ $$src -eq 0 ] || echo "== the integration suite failed"; \
	[ $$rc -eq 0 ] && [ $$brc -eq 0 ] && [ $$src -eq 0 ]

demo: deps all test/pump
	test/demo.sh

bench: all test/pump
	test/bench.sh

cppcheck:
	cppcheck --std=c11 --error-exitcode=1 --enable=warning,style,performance,portability \
		--inline-suppr --quiet -D__linux__ -DMERD_VERSION='"x"' \
		--suppress=missingIncludeSystem $(MERD_SRCS) $(QRAP_SRCS)

# libFuzzer harnesses, FUZZ_SECONDS each; those reaching forwarding run in
# a private network namespace (as root)
FUZZ_SECONDS ?= 15

fuzz:
	test/fuzz/run.sh $(FUZZ_SECONDS)

# One file per run: clang-tidy 14 carries analyser state from one file to
# the next and then reports a va_list as uninitialised where it isn't
clang-tidy:
	@printf '%s\n' $(MERD_SRCS) $(QRAP_SRCS) | xargs -P $(NPROC) -I{} \
		sh -c 'clang-tidy --quiet {} -- -std=c11 -D_GNU_SOURCE \
			-DMERD_VERSION="\"x\"" $(MNL_CFLAGS) 2>/dev/null'

clean:
	rm -f merd qrap test/merd-san test/pump $(UNIT_TESTS)
	rm -f test/beside.log
	rm -rf test/fuzz/build test/__pycache__ .pytest_cache
