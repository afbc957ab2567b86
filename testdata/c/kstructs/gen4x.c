/* A 4.x-shaped kernel: skb_frag_struct with page.p, compound_head/compound_order in anonymous
 * unions of struct page. */
#include "layout.h"
#include "common_types.h"

#define MAX_SKB_FRAGS 17

struct address_space;
struct page {
	unsigned long flags;
	union {
		struct {
			struct list_head lru;
			struct address_space *mapping;
			unsigned long index;
			unsigned long private;
		};
		struct {
			unsigned long compound_head;
			unsigned char compound_dtor;
			unsigned char compound_order;
			atomic_t compound_mapcount;
		};
		struct rcu_head rcu_head;
	};
	union {
		atomic_t _mapcount;
		unsigned int page_type;
	};
	atomic_t _refcount;
};

struct skb_frag_struct {
	struct {
		struct page *p;
	} page;
	__u32 page_offset;
	__u32 size;
};
typedef struct skb_frag_struct skb_frag_t;

struct sock;
struct sk_buff {
	union {
		struct {
			struct sk_buff *next;
			struct sk_buff *prev;
			union {
				ktime_t tstamp;
				__u64 skb_mstamp;
			};
		};
		struct rb_node rbnode;
	};
	struct sock *sk;
	char cb[48] __attribute__((aligned(8)));
	unsigned int len, data_len;
	__u16 mac_len, hdr_len;
	__u16 queue_mapping;
	__u8 __cloned_offset[0];
	__u8 cloned:1, nohdr:1, fclone:2, peeked:1, head_frag:1, xmit_more:1, __unused:1;
	__u32 priority;
	unsigned int tail;
	unsigned int end;
	unsigned char *head, *data;
	unsigned int truesize;
	refcount_t users;
};

struct skb_shared_info {
	__u8 __unused;
	__u8 meta_len;
	__u8 nr_frags;
	__u8 tx_flags;
	unsigned short gso_size;
	unsigned short gso_segs;
	struct sk_buff *frag_list;
	unsigned int gso_type;
	__u32 tskey;
	atomic_t dataref;
	void *destructor_arg;
	skb_frag_t frags[MAX_SKB_FRAGS];
};

struct page g_page;
struct sk_buff g_skb;
struct skb_shared_info g_shinfo;

int main(void)
{
	MEMBER(struct page, "page", flags);
	MEMBER(struct page, "page", compound_head);
	MEMBER(struct page, "page", compound_order);
	MEMBER(struct page, "page", _refcount);
	MEMBER(struct page, "page", _refcount.counter);
	SIZE(struct page, "page");
	MEMBER(struct skb_frag_struct, "skb_frag_struct", page.p);
	MEMBER(struct skb_frag_struct, "skb_frag_struct", page_offset);
	MEMBER(struct skb_frag_struct, "skb_frag_struct", size);
	MEMBER(skb_frag_t, "skb_frag_t", size);
	SIZE(skb_frag_t, "skb_frag_t");
	MEMBER(struct sk_buff, "sk_buff", next);
	MEMBER(struct sk_buff, "sk_buff", prev);
	MEMBER(struct sk_buff, "sk_buff", rbnode);
	MEMBER(struct sk_buff, "sk_buff", rbnode.rb_left);
	MEMBER(struct sk_buff, "sk_buff", tstamp);
	MEMBER(struct sk_buff, "sk_buff", sk);
	MEMBER(struct sk_buff, "sk_buff", len);
	MEMBER(struct sk_buff, "sk_buff", data_len);
	MEMBER(struct sk_buff, "sk_buff", tail);
	MEMBER(struct sk_buff, "sk_buff", end);
	MEMBER(struct sk_buff, "sk_buff", head);
	MEMBER(struct sk_buff, "sk_buff", data);
	MEMBER(struct sk_buff, "sk_buff", truesize);
	BITFIELD(struct sk_buff, "sk_buff", cloned);
	BITFIELD(struct sk_buff, "sk_buff", nohdr);
	BITFIELD(struct sk_buff, "sk_buff", fclone);
	BITFIELD(struct sk_buff, "sk_buff", head_frag);
	BITFIELD(struct sk_buff, "sk_buff", __unused);
	SIZE(struct sk_buff, "sk_buff");
	MEMBER(struct skb_shared_info, "skb_shared_info", nr_frags);
	MEMBER(struct skb_shared_info, "skb_shared_info", frag_list);
	MEMBER(struct skb_shared_info, "skb_shared_info", frags);
	COUNT(struct skb_shared_info, "skb_shared_info", frags);
	SIZE(struct skb_shared_info, "skb_shared_info");
	return 0;
}
