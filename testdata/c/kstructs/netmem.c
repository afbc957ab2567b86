/* A netmem-era kernel: struct skb_frag { netmem_ref netmem; len; offset; }, folio _flags_1. */
#include "layout.h"
#include "common_types.h"

#define MAX_SKB_FRAGS 17

typedef unsigned long netmem_ref;

struct skb_frag {
	netmem_ref netmem;
	unsigned int len;
	unsigned int offset;
};
typedef struct skb_frag skb_frag_t;

struct page {
	unsigned long flags;
	union {
		struct {
			struct list_head lru;
			void *mapping;
			unsigned long index;
			unsigned long private;
		};
		struct {
			unsigned long compound_head;
		};
	};
	union {
		unsigned int page_type;
		atomic_t _mapcount;
	};
	atomic_t _refcount;
	unsigned long memcg_data;
};

struct folio {
	union {
		struct {
			unsigned long flags;
			struct list_head lru;
			void *mapping;
			unsigned long index;
			void *private;
			atomic_t _mapcount;
			atomic_t _refcount;
			unsigned long memcg_data;
		};
		struct page page;
	};
	union {
		struct {
			unsigned long _flags_1;
			unsigned long _head_1;
			atomic_t _large_mapcount;
			atomic_t _entire_mapcount;
			atomic_t _nr_pages_mapped;
			atomic_t _pincount;
			unsigned int _folio_nr_pages;
		};
		struct page __page_1;
	};
};

struct skb_shared_info {
	__u8 flags;
	__u8 meta_len;
	__u8 nr_frags;
	__u8 tx_flags;
	unsigned short gso_size;
	unsigned short gso_segs;
	void *frag_list;
	skb_frag_t frags[MAX_SKB_FRAGS];
};

struct flex {
	int n;
	unsigned int items[];
};

struct matrix {
	int cells[3][5];
};

struct skb_shared_info g_shinfo;
struct folio g_folio;
struct flex g_flex;
struct matrix g_matrix;

int main(void)
{
	MEMBER(struct skb_frag, "skb_frag", netmem);
	MEMBER(struct skb_frag, "skb_frag", len);
	MEMBER(struct skb_frag, "skb_frag", offset);
	SIZE(skb_frag_t, "skb_frag_t");
	SIZE(netmem_ref, "netmem_ref");
	MEMBER(struct page, "page", compound_head);
	MEMBER(struct page, "page", _refcount);
	MEMBER(struct folio, "folio", _flags_1);
	MEMBER(struct folio, "folio", _folio_nr_pages);
	MEMBER(struct folio, "folio", __page_1.compound_head);
	SIZE(struct folio, "folio");
	MEMBER(struct skb_shared_info, "skb_shared_info", frags);
	COUNT(struct skb_shared_info, "skb_shared_info", frags);
	SIZE(struct skb_shared_info, "skb_shared_info");
	MEMBER(struct flex, "flex", items);
	MEMBER(struct matrix, "matrix", cells);
	COUNT(struct matrix, "matrix", cells);
	SIZE(struct matrix, "matrix");
	return 0;
}
