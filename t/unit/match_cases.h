/*
 * match_cases.h — MQTT topic matching cases (MQTT 5.0 §4.7, §4.8.2) and a
 * naive reference matcher, shared by the route-trie and private-trie
 * suites so both tries are held to the same table.
 *
 * The reference matcher compares level by level with no trie at all; the
 * model-based tests trust it, and the table below checks it first.
 */
#ifndef CQ_T_UNIT_MATCH_CASES_H
#define CQ_T_UNIT_MATCH_CASES_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "shm/topic_match.h"

typedef struct match_case {
	const char *filter;
	const char *topic;
	bool match;
	const char *why; /* spec statement or section */
} match_case_t;

static const match_case_t match_cases[] = {
	{"sport/tennis/player1/#", "sport/tennis/player1", true, "4.7.1.2"},
	{"sport/tennis/player1/#", "sport/tennis/player1/ranking", true,
		"4.7.1.2"},
	{"sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon", true,
		"4.7.1.2"},
	{"sport/#", "sport", true, "MQTT-4.7.1-2 parent level"},
	{"sport/tennis/#", "sport/tennisplayer", false, "4.7.1.2"},
	{"#", "sport/tennis/player1", true, "4.7.1.2"},
	{"#", "/", true, "4.7.1.2"},
	{"#", "a", true, "4.7.1.2"},
	{"/#", "/", true, "4.7.1.2"},
	{"/#", "a", false, "4.7.1.2"},
	{"+/#", "a", true, "MQTT-4.7.1-2 parent level"},
	{"+/#", "a/b/c", true, "4.7.1.2"},
	{"sport/tennis/+", "sport/tennis/player1", true, "4.7.1.3"},
	{"sport/tennis/+", "sport/tennis/player2", true, "4.7.1.3"},
	{"sport/tennis/+", "sport/tennis/player1/ranking", false, "4.7.1.3"},
	{"sport/+", "sport", false, "4.7.1.3"},
	{"sport/+", "sport/", true, "4.7.1.3 empty level"},
	{"+", "sport", true, "4.7.1.3"},
	{"+", "/finance", false, "4.7.1.3"},
	{"+/+", "/finance", true, "4.7.1.3"},
	{"/+", "/finance", true, "4.7.1.3"},
	{"+/tennis/#", "sport/tennis", true, "4.7.1.3"},
	{"sport/+/player1", "sport/tennis/player1", true, "4.7.1.3"},
	{"+/+/+", "a//c", true, "4.7.1.3 empty level"},
	{"a//c", "a//c", true, "4.7.3 empty level"},
	{"a/+/c", "a/b/c/d", false, "4.7.1.3"},
	{"#", "$SYS/monitor/Clients", false, "MQTT-4.7.2-1"},
	{"+/monitor/Clients", "$SYS/monitor/Clients", false, "MQTT-4.7.2-1"},
	{"+", "$SYS", false, "MQTT-4.7.2-1"},
	{"+/#", "$SYS/x", false, "MQTT-4.7.2-1"},
	{"#", "$", false, "MQTT-4.7.2-1"},
	{"$SYS/#", "$SYS/monitor/Clients", true, "4.7.2"},
	{"$SYS/#", "$SYS", true, "4.7.2"},
	{"$SYS/monitor/+", "$SYS/monitor/Clients", true, "4.7.2"},
	{"$SYS/+/Clients", "$SYS/monitor/Clients", true, "4.7.2"},
	{"#", "a$b", true, "4.7.2 only a leading $"},
	{"a/#", "a/$b", true, "4.7.2 only the first level"},
	{"a/+", "a/$b", true, "4.7.2 only the first level"},
	{"ACCOUNTS", "Accounts", false, "4.7.3 case sensitive"},
	{"Accounts payable", "Accounts payable", true, "4.7.3 spaces"},
	{"a/b", "a/b/", false, "4.7.3"},
	{"a/b/", "a/b/", true, "4.7.3"},
	{"$share/g/sport/#", "sport/tennis", true, "4.8.2 shared"},
	{"$share/g/+", "sport", true, "4.8.2 shared"},
	{"$share/g/#", "$SYS/x", false, "4.8.2 + MQTT-4.7.2-1"},
	{"$share/g/sport/+", "sport", false, "4.8.2 shared"},
	{"$share/h/sport/+", "sport/x", true, "4.8.2 shared"},
};

/* Naive reference: does 'filter' (maybe shared) match 'topic'? */
static inline bool
ref_match(const char *filter, const char *topic)
{
	cq_match_share_t sh;
	cq_match_share_split(filter, strlen(filter), &sh);
	const char *f = sh.filter, *t = topic;
	const char *fend_all = sh.filter + sh.filter_len;
	if (t[0] == '$' && (f[0] == '+' || f[0] == '#'))
		return false;
	for (;;) {
		const char *fs = memchr(f, '/', (size_t)(fend_all - f));
		size_t fl = fs ? (size_t)(fs - f) : (size_t)(fend_all - f);
		size_t tl = strcspn(t, "/");
		if (fl == 1 && f[0] == '#')
			return true;
		bool plus = fl == 1 && f[0] == '+';
		if (!plus && (fl != tl || memcmp(f, t, fl) != 0))
			return false;
		bool fend = fs == NULL, tend = t[tl] == '\0';
		if (fend && tend)
			return true;
		if (tend) /* only a trailing "/#" matches the parent */
			return fend_all - (f + fl) == 2 && f[fl + 1] == '#';
		if (fend)
			return false;
		f += fl + 1;
		t += tl + 1;
	}
}

/* A small deterministic PRNG for the seeded model-based tests. */
static inline uint64_t
test_rand(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Random level for model tests: a small alphabet so filters collide. */
static inline const char *
test_level(uint64_t *s, bool first)
{
	static const char *const lv[] = {"a", "b", "c", "", "dd", "$s"};
	unsigned n = first ? 6 : 5; /* '$' matters only at the first level */
	return lv[test_rand(s) % n];
}

/* A random topic of 1..4 levels into buf. */
static inline void
test_topic(uint64_t *s, char *buf, size_t cap)
{
	unsigned n = 1 + (unsigned)(test_rand(s) % 4);
	buf[0] = '\0';
	for (unsigned i = 0; i < n; i++) {
		if (i > 0)
			strncat(buf, "/", cap - strlen(buf) - 1);
		strncat(buf, test_level(s, i == 0), cap - strlen(buf) - 1);
	}
	if (buf[0] == '\0')
		strncat(buf, "/", cap - 1); /* a topic is never empty */
}

/* A random filter of 1..4 levels ('+' anywhere, '#' only last). */
static inline void
test_filter(uint64_t *s, char *buf, size_t cap)
{
	unsigned n = 1 + (unsigned)(test_rand(s) % 4);
	buf[0] = '\0';
	for (unsigned i = 0; i < n; i++) {
		if (i > 0)
			strncat(buf, "/", cap - strlen(buf) - 1);
		unsigned r = (unsigned)(test_rand(s) % 10);
		const char *l = r < 2            ? "+"
			: (r == 2 && i == n - 1) ? "#"
						 : test_level(s, i == 0);
		strncat(buf, l, cap - strlen(buf) - 1);
	}
	if (buf[0] == '\0')
		strncat(buf, "/", cap - 1);
}

/* A filter for the models of the filter indexes: mostly exact and
 * single-'+' (the indexes), some '#' and two-'+' (the tries), some
 * shared (if 'shared'); '$SYS' first levels, empty levels ("a//b",
 * "/"). */
static inline void
test_index_filter(uint64_t *rs, char *buf, size_t cap, bool shared)
{
	static const char *const lv[] = {"a", "b", "", "x", "yy", "$SYS"};
	unsigned n = 1 + (unsigned)(test_rand(rs) % 5), plus = 0;
	char plain[48] = "";
	for (unsigned i = 0; i < n; i++) {
		unsigned r = (unsigned)(test_rand(rs) % 20);
		const char *l = lv[test_rand(rs) % (i == 0 ? 6 : 5)];
		if (r < 3 && plus++ < 2)
			l = "+";
		else if (r == 3 && i == n - 1)
			l = "#";
		snprintf(plain + strlen(plain), sizeof(plain) - strlen(plain),
			"%s%s", i ? "/" : "", l);
	}
	if (plain[0] == '\0') /* a filter is never empty */
		snprintf(plain, sizeof(plain), "/");
	if (shared && test_rand(rs) % 6 == 0)
		snprintf(buf, cap, "$share/g/%s", plain);
	else
		snprintf(buf, cap, "%s", plain);
}

/* A topic: often one of the filters with its wildcards made levels (so
 * that '+' filters match), else random levels. */
static inline void
test_index_topic(
	uint64_t *rs, char filters[][64], unsigned nf, char *buf, size_t cap)
{
	static const char *const lv[] = {"a", "b", "", "x", "q", "$SYS"};
	cq_match_share_t sh;
	const char *f = filters[test_rand(rs) % nf];
	cq_match_share_split(f, strlen(f), &sh);
	if (test_rand(rs) % 3 != 0) {
		size_t o = 0;
		for (uint32_t i = 0; i < sh.filter_len && o + 2 < cap; i++)
			buf[o++] = sh.filter[i] == '+' || sh.filter[i] == '#'
				? 'q'
				: sh.filter[i];
		buf[o] = '\0';
		return;
	}
	unsigned n = 1 + (unsigned)(test_rand(rs) % 5);
	buf[0] = '\0';
	for (unsigned i = 0; i < n; i++)
		snprintf(buf + strlen(buf), cap - strlen(buf), "%s%s",
			i ? "/" : "", lv[test_rand(rs) % (i == 0 ? 6 : 5)]);
	if (buf[0] == '\0') /* a topic is never empty */
		snprintf(buf, cap, "/");
}

/* nf distinct filters of test_index_filter. */
static inline void
test_index_filters(uint64_t *rs, char filters[][64], unsigned nf, bool shared)
{
	for (unsigned f = 0; f < nf; f++) {
		bool dup;
		do {
			test_index_filter(rs, filters[f], 64, shared);
			dup = false;
			for (unsigned g = 0; g < f; g++)
				dup |= !strcmp(filters[g], filters[f]);
		} while (dup);
	}
}

/* Topics with the §4.7 corner cases: empty levels, '$' first levels. */
static const char *const test_special_topics[] = {
	"/", "a//b", "//", "$SYS", "$SYS/a", "$SYS/a/b", "a/", "/a", "a//"};

#endif /* CQ_T_UNIT_MATCH_CASES_H */
