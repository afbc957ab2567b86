/* A 6.1-shaped kernel: skb_frag_t = struct bio_vec, page + folio (_folio_order), sk_buff with
 * bitfields and the anonymous-union-of-structs head (next/prev overlaid by rbnode), sock with
 * __sk_common and sk_backlog, anonymous enums (TCP states, SS_*) and enum pageflags.
 * Linked after dup_a.c, which declares some of these structs incompletely first. */
#include "layout.h"
#include "common_types.h"

#define MAX_SKB_FRAGS 17

enum pageflags {
	PG_locked, PG_referenced, PG_uptodate, PG_dirty, PG_lru, PG_active, PG_workingset,
	PG_waiters, PG_error, PG_slab, PG_owner_priv_1, PG_arch_1, PG_reserved, PG_private,
	PG_private_2, PG_writeback, PG_head, PG_mappedtodisk, PG_reclaim, PG_swapbacked,
	__NR_PAGEFLAGS, PG_readahead = PG_reclaim, PG_checked = PG_owner_priv_1,
};

enum {
	TCP_ESTABLISHED = 1, TCP_SYN_SENT, TCP_SYN_RECV, TCP_FIN_WAIT1, TCP_FIN_WAIT2,
	TCP_TIME_WAIT, TCP_CLOSE, TCP_CLOSE_WAIT, TCP_LAST_ACK, TCP_LISTEN, TCP_CLOSING,
	TCP_NEW_SYN_RECV, TCP_MAX_STATES
};

typedef enum { SS_FREE = 0, SS_UNCONNECTED, SS_CONNECTING, SS_CONNECTED, SS_DISCONNECTING } socket_state;

enum negative_things { NEG_BIG = -100000, NEG_SMALL = -1, POS = 7 };

struct address_space;
struct page {
	unsigned long flags;
	union {
		struct {
			union {
				struct list_head lru;
				struct {
					void *__filler;
					unsigned int mlock_count;
				};
			};
			struct address_space *mapping;
			unsigned long index;
			unsigned long private;
		};
		struct {
			unsigned long compound_head;
			unsigned char compound_dtor;
			unsigned char compound_order;
			atomic_t compound_mapcount;
			atomic_t compound_pincount;
			unsigned int compound_nr;
		};
		struct rcu_head rcu_head;
	};
	union {
		atomic_t _mapcount;
		unsigned int page_type;
	};
	atomic_t _refcount;
	unsigned long memcg_data;
};

struct folio {
	union {
		struct {
			unsigned long flags;
			struct list_head lru;
			struct address_space *mapping;
			unsigned long index;
			void *private;
			atomic_t _mapcount;
			atomic_t _refcount;
			unsigned long memcg_data;
		};
		struct page page;
	};
	unsigned long _flags_1;
	unsigned long __head;
	unsigned char _folio_dtor;
	unsigned char _folio_order;
	atomic_t _total_mapcount;
	atomic_t _pincount;
	unsigned int _folio_nr_pages;
};

struct bio_vec {
	struct page *bv_page;
	unsigned int bv_len;
	unsigned int bv_offset;
};
typedef struct bio_vec skb_frag_t;

struct sock;
struct sk_buff {
	union {
		struct {
			struct sk_buff *next;
			struct sk_buff *prev;
			union {
				void *dev;
				unsigned long dev_scratch;
			};
		};
		struct rb_node rbnode;
		struct list_head list;
	};
	union {
		struct sock *sk;
		int ip_defrag_offset;
	};
	union {
		ktime_t tstamp;
		__u64 skb_mstamp_ns;
	};
	char cb[48] __attribute__((aligned(8)));
	unsigned long _skb_refdst;
	void (*destructor)(struct sk_buff *skb);
	unsigned int len, data_len;
	__u16 mac_len, hdr_len;
	__u16 queue_mapping;
	__u8 __cloned_offset[0];
	__u8 cloned:1, nohdr:1, fclone:2, peeked:1, head_frag:1, pfmemalloc:1, pp_recycle:1;
	__u8 active_extensions;
	struct {
		__u8 __pkt_type_offset[0];
		__u8 pkt_type:3;
		__u8 ignore_df:1;
		__u8 nf_trace:1;
		__u16 straddle:7; /* crosses a byte boundary */
		__u16 tc_index_ish:10;
		__be16 protocol;
	};
	int signed_bits:5;
	__u32 headers_end[0];
	unsigned int tail;
	unsigned int end;
	unsigned char *head, *data;
	unsigned int truesize;
	refcount_t users;
};

struct sk_buff_head {
	struct sk_buff *next;
	struct sk_buff *prev;
	__u32 qlen;
	int lock;
};

struct skb_shared_info {
	__u8 flags;
	__u8 meta_len;
	__u8 nr_frags;
	__u8 tx_flags;
	unsigned short gso_size;
	unsigned short gso_segs;
	struct sk_buff *frag_list;
	ktime_t hwtstamps;
	unsigned int gso_type;
	__u32 tskey;
	atomic_t dataref;
	unsigned int xdp_frags_size;
	void *destructor_arg;
	skb_frag_t frags[MAX_SKB_FRAGS];
};

struct in6_addr { union { __u8 u6_addr8[16]; __be32 u6_addr32[4]; } in6_u; };
typedef __u64 __addrpair;
typedef __u32 __portpair;

struct sock_common {
	union {
		__addrpair skc_addrpair;
		struct {
			__be32 skc_daddr;
			__be32 skc_rcv_saddr;
		};
	};
	union {
		unsigned int skc_hash;
		__u16 skc_u16hashes[2];
	};
	union {
		__portpair skc_portpair;
		struct {
			__be16 skc_dport;
			__u16 skc_num;
		};
	};
	unsigned short skc_family;
	volatile unsigned char skc_state;
	unsigned char skc_reuse:4;
	unsigned char skc_reuseport:1;
	unsigned char skc_ipv6only:1;
	int skc_bound_dev_if;
	struct in6_addr skc_v6_daddr;
	struct in6_addr skc_v6_rcv_saddr;
};

struct sock {
	struct sock_common __sk_common;
	atomic_t sk_drops;
	int sk_rcvlowat;
	struct sk_buff_head sk_error_queue;
	struct sk_buff_head sk_receive_queue;
	struct {
		atomic_t rmem_alloc;
		int len;
		struct sk_buff *head;
		struct sk_buff *tail;
	} sk_backlog;
	int sk_forward_alloc;
	int sk_rcvbuf;
	union {
		struct sk_buff *sk_send_head;
		struct rb_root tcp_rtx_queue;
	};
	struct sk_buff_head sk_write_queue;
	int sk_wmem_queued;
	int sk_sndbuf;
	__u8 sk_padding:1, sk_kern_sock:1, sk_no_check_tx:1;
	__u8 sk_gso_disabled:1, sk_userlocks:4;
	__u8 sk_pacing_shift;
	__u16 sk_type;
	__u16 sk_protocol;
};

struct tcp_sock {
	struct sock sk;
	__u32 rcv_nxt;
	struct rb_root out_of_order_queue;
};

struct file;
struct socket {
	socket_state state;
	short type;
	unsigned long flags;
	struct file *file;
	struct sock *sk;
};

struct kmem_cache {
	unsigned int object_size;
	unsigned int size;
};
struct slab {
	unsigned long __page_flags;
	struct kmem_cache *slab_cache;
};

struct page g_page;
struct folio g_folio;
struct sk_buff g_skb;
struct sk_buff_head g_head;
struct skb_shared_info g_shinfo;
struct tcp_sock g_tp;
struct socket g_sock;
struct slab g_slab;
enum negative_things g_neg;

int main(void)
{
	MEMBER(struct page, "page", flags);
	MEMBER(struct page, "page", compound_head);
	MEMBER(struct page, "page", compound_order);
	MEMBER(struct page, "page", mlock_count);
	MEMBER(struct page, "page", _refcount);
	SIZE(struct page, "page");
	SIZE(struct page, "struct page");
	MEMBER(struct folio, "folio", _folio_order);
	MEMBER(struct folio, "folio", _flags_1);
	MEMBER(struct folio, "folio", page.compound_head);
	MEMBER(struct bio_vec, "bio_vec", bv_page);
	MEMBER(struct bio_vec, "bio_vec", bv_len);
	MEMBER(struct bio_vec, "bio_vec", bv_offset);
	MEMBER(skb_frag_t, "skb_frag_t", bv_offset);
	SIZE(skb_frag_t, "skb_frag_t");
	MEMBER(struct sk_buff, "sk_buff", next);
	MEMBER(struct sk_buff, "sk_buff", prev);
	MEMBER(struct sk_buff, "sk_buff", rbnode);
	MEMBER(struct sk_buff, "sk_buff", rbnode.rb_right);
	MEMBER(struct sk_buff, "sk_buff", dev_scratch);
	MEMBER(struct sk_buff, "sk_buff", sk);
	MEMBER(struct sk_buff, "sk_buff", cb);
	MEMBER(struct sk_buff, "sk_buff", destructor);
	MEMBER(struct sk_buff, "sk_buff", len);
	MEMBER(struct sk_buff, "sk_buff", data_len);
	MEMBER(struct sk_buff, "sk_buff", protocol);
	MEMBER(struct sk_buff, "sk_buff", tail);
	MEMBER(struct sk_buff, "sk_buff", end);
	MEMBER(struct sk_buff, "sk_buff", head);
	MEMBER(struct sk_buff, "sk_buff", data);
	MEMBER(struct sk_buff, "sk_buff", truesize);
	MEMBER(struct sk_buff, "sk_buff", users);
	BITFIELD(struct sk_buff, "sk_buff", cloned);
	BITFIELD(struct sk_buff, "sk_buff", nohdr);
	BITFIELD(struct sk_buff, "sk_buff", fclone);
	BITFIELD(struct sk_buff, "sk_buff", peeked);
	BITFIELD(struct sk_buff, "sk_buff", head_frag);
	BITFIELD(struct sk_buff, "sk_buff", pp_recycle);
	BITFIELD(struct sk_buff, "sk_buff", pkt_type);
	BITFIELD(struct sk_buff, "sk_buff", nf_trace);
	BITFIELD(struct sk_buff, "sk_buff", straddle);
	BITFIELD(struct sk_buff, "sk_buff", tc_index_ish);
	BITFIELD(struct sk_buff, "sk_buff", signed_bits);
	SIZE(struct sk_buff, "sk_buff");
	MEMBER(struct sk_buff_head, "sk_buff_head", next);
	MEMBER(struct sk_buff_head, "sk_buff_head", prev);
	MEMBER(struct sk_buff_head, "sk_buff_head", qlen);
	MEMBER(struct skb_shared_info, "skb_shared_info", nr_frags);
	MEMBER(struct skb_shared_info, "skb_shared_info", frag_list);
	MEMBER(struct skb_shared_info, "skb_shared_info", frags);
	COUNT(struct skb_shared_info, "skb_shared_info", frags);
	SIZE(struct skb_shared_info, "skb_shared_info");
	MEMBER(struct sock, "sock", __sk_common.skc_family);
	MEMBER(struct sock, "sock", __sk_common.skc_state);
	MEMBER(struct sock, "sock", __sk_common.skc_rcv_saddr);
	MEMBER(struct sock, "sock", __sk_common.skc_daddr);
	MEMBER(struct sock, "sock", __sk_common.skc_num);
	MEMBER(struct sock, "sock", __sk_common.skc_dport);
	MEMBER(struct sock, "sock", __sk_common.skc_v6_rcv_saddr);
	MEMBER(struct sock, "sock", __sk_common.skc_v6_daddr);
	BITFIELD(struct sock, "sock", __sk_common.skc_reuseport);
	MEMBER(struct sock, "sock", sk_receive_queue);
	MEMBER(struct sock, "sock", sk_receive_queue.qlen);
	MEMBER(struct sock, "sock", sk_error_queue);
	MEMBER(struct sock, "sock", sk_write_queue);
	MEMBER(struct sock, "sock", tcp_rtx_queue);
	MEMBER(struct sock, "sock", sk_rcvbuf);
	MEMBER(struct sock, "sock", sk_sndbuf);
	MEMBER(struct sock, "sock", sk_wmem_queued);
	MEMBER(struct sock, "sock", sk_backlog.rmem_alloc);
	MEMBER(struct sock, "sock", sk_backlog.tail);
	BITFIELD(struct sock, "sock", sk_userlocks);
	MEMBER(struct sock, "sock", sk_type);
	MEMBER(struct sock, "sock", sk_protocol);
	MEMBER(struct tcp_sock, "tcp_sock", out_of_order_queue);
	MEMBER(struct tcp_sock, "tcp_sock", sk.sk_receive_queue.next);
	MEMBER(struct socket, "socket", state);
	MEMBER(struct socket, "socket", type);
	MEMBER(struct socket, "socket", sk);
	MEMBER(struct socket, "socket", file);
	MEMBER(struct rb_node, "rb_node", __rb_parent_color);
	MEMBER(struct rb_node, "rb_node", rb_right);
	MEMBER(struct rb_node, "rb_node", rb_left);
	MEMBER(struct rb_root, "rb_root", rb_node);
	MEMBER(struct kmem_cache, "kmem_cache", size);
	MEMBER(struct slab, "slab", slab_cache);
	SIZE(struct kmem_cache, "kmem_cache");
	SIZE(struct sk_buff_head, "sk_buff_head");
	SIZE(socket_state, "socket_state");
	ENUM(PG_head);
	ENUM(PG_readahead);
	ENUM(TCP_ESTABLISHED);
	ENUM(TCP_SYN_SENT);
	ENUM(TCP_CLOSE);
	ENUM(TCP_LISTEN);
	ENUM(TCP_NEW_SYN_RECV);
	ENUM(SS_FREE);
	ENUM(SS_CONNECTED);
	ENUM(SS_DISCONNECTING);
	ENUM(NEG_BIG);
	ENUM(NEG_SMALL);
	ENUM(POS);
	return 0;
}
