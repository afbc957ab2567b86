/* Print the layout the compiler chose, for kstructs' DWARF tests.
 *
 * Output, one fact per line:
 *   member <type> <path> <bit position from the start of type> <bit size, 0 if not a bitfield>
 *   size <type> <sizeof>
 *   count <type> <path> <array element count>
 *   enum <name> <value>
 * Bitfield positions are found at run time: set the field to all ones in a zeroed object and look
 * for the set bits (bit k = bit k%8, LSB first, of byte k/8).
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

static void print_bits(const char *type, const char *path, const unsigned char *p, size_t n)
{
	size_t first = (size_t)-1, count = 0;
	for (size_t k = 0; k < n * 8; k++) {
		if (p[k / 8] & (1u << (k % 8))) {
			if (first == (size_t)-1)
				first = k;
			count++;
		}
	}
	printf("member %s %s %zu %zu\n", type, path, first, count);
}

#define MEMBER(T, tname, path) \
	printf("member %s %s %zu 0\n", tname, #path, offsetof(T, path) * 8)
#define BITFIELD(T, tname, path)                                            \
	do {                                                                \
		T x_;                                                       \
		memset(&x_, 0, sizeof x_);                                  \
		x_.path = -1;                                               \
		print_bits(tname, #path, (const unsigned char *)&x_, sizeof x_); \
	} while (0)
#define SIZE(T, tname) printf("size %s %zu\n", tname, sizeof(T))
#define COUNT(T, tname, path) \
	printf("count %s %s %zu\n", tname, #path, sizeof(((T *)0)->path) / sizeof(((T *)0)->path[0]))
#define ENUM(name) printf("enum %s %lld\n", #name, (long long)(name))
