/*
 * A synthetic "Linux 6.1, x86-64" kernel for skbwalk's fixtures.
 *
 * Kernel-shaped definitions of every type the walk reads, in the shapes 6.1 uses: anonymous unions of
 * anonymous structs (sk_buff's list/rbtree head, struct page's tail-page words), bitfields (head_frag,
 * fclone), bio_vec frags, folio overlays. Members the walk does not read are padding of plausible size,
 * so offsets are nothing like a trivial packing.
 *
 * Built twice by testdata/src/synth: with `-g` into a "vmlinux" linked at kernel addresses (its DWARF
 * and symbol table are what skbwalk reads), and with -DSYNTH_OFFSETS into a host program that prints
 * offsetof/sizeof for the fixture builder — so fixtures never hard-code an offset either.
 */
#include <stddef.h>

/*
 * SYNTH_GEN selects the generation of the layouts that moved (see shared/spec/kernel-notes.md):
 *   4   — 4.19: `struct skb_frag_struct { struct { struct page *p; } page; page_offset; size }`,
 *         order in page[1].compound_order, no folio, no `struct slab` (slab fields in `struct page`)
 *   510 — 5.10: `bio_vec` frags, order in page[1].compound_order, no folio, no `struct slab`
 *   61  — 6.1 (default): `bio_vec` frags, page[1].compound_order overlaid by folio `_folio_order`
 *   612 — 6.12: `struct skb_frag { netmem_ref netmem; len; offset }`, order in the low byte of folio `_flags_1`,
 *         no PG_slab: a slab page has PGTY_slab in the top byte of `page_type`
 */
#ifndef SYNTH_GEN
#define SYNTH_GEN 61
#endif
/* struct slab and folios exist from 5.17 / 5.16: the 6.x generations */
#define SYNTH_HAS_SLAB_STRUCT (SYNTH_GEN == 61 || SYNTH_GEN == 612)
#define SYNTH_HAS_FOLIO (SYNTH_GEN == 61 || SYNTH_GEN == 612)

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;
typedef u8 __u8;
typedef u16 __u16;
typedef u32 __u32;
typedef u16 __be16;
typedef u32 __be32;
typedef int pid_t;
typedef unsigned int gfp_t;
typedef struct { int counter; } atomic_t;
typedef struct { long counter; } atomic64_t;
typedef struct { long counter; } atomic_long_t;
typedef struct { atomic_t refs; } refcount_t;
typedef unsigned short umode_t;
typedef unsigned int fmode_t;
typedef unsigned long pgdval_t;
typedef struct { pgdval_t pgd; } pgd_t;

struct list_head { struct list_head *next, *prev; };
struct hlist_node { struct hlist_node *next, **pprev; };
struct hlist_head { struct hlist_node *first; };
struct hlist_nulls_node { struct hlist_nulls_node *next, **pprev; };
struct hlist_nulls_head { struct hlist_nulls_node *first; };
struct rb_node { unsigned long __rb_parent_color; struct rb_node *rb_right; struct rb_node *rb_left; } __attribute__((aligned(sizeof(long))));
struct rb_root { struct rb_node *rb_node; };
struct in6_addr { union { __u8 u6_addr8[16]; __be16 u6_addr16[8]; __be32 u6_addr32[4]; } in6_u; };

enum pageflags {
	PG_locked, PG_referenced, PG_uptodate, PG_dirty, PG_lru, PG_active, PG_workingset, PG_waiters,
	PG_error,
#if SYNTH_GEN != 612
	PG_slab,
#endif
	PG_owner_priv_1, PG_arch_1, PG_reserved, PG_private, PG_private_2, PG_writeback,
	PG_head, PG_mappedtodisk, PG_reclaim, PG_swapbacked, PG_unevictable, PG_mlocked, __NR_PAGEFLAGS,
};

#if SYNTH_GEN == 612
enum pagetype {
	PGTY_buddy = 0xf0, PGTY_offline = 0xf1, PGTY_table = 0xf2, PGTY_guard = 0xf3, PGTY_hugetlb = 0xf4,
	PGTY_slab = 0xf5, PGTY_zsmalloc = 0xf6, PGTY_unaccepted = 0xf7, PGTY_mapcount_underflow = 0xff,
};
#endif

enum {
	TCP_ESTABLISHED = 1, TCP_SYN_SENT, TCP_SYN_RECV, TCP_FIN_WAIT1, TCP_FIN_WAIT2, TCP_TIME_WAIT,
	TCP_CLOSE, TCP_CLOSE_WAIT, TCP_LAST_ACK, TCP_LISTEN, TCP_CLOSING, TCP_NEW_SYN_RECV, TCP_MAX_STATES
};

enum sock_type { SOCK_STREAM = 1, SOCK_DGRAM = 2, SOCK_RAW = 3, SOCK_RDM = 4, SOCK_SEQPACKET = 5, SOCK_DCCP = 6, SOCK_PACKET = 10 };

typedef enum { SS_FREE = 0, SS_UNCONNECTED, SS_CONNECTING, SS_CONNECTED, SS_DISCONNECTING } socket_state;

struct kmem_cache;
struct address_space;
struct page;
/* a page-frag cache of a task (task_frag) or a socket (sk_frag): the page being carved */
struct page_frag { struct page *page; unsigned int offset; unsigned int size; };

struct page {
	unsigned long flags;
	union {
		struct {
			union { struct list_head lru; struct { void *__filler; unsigned int mlock_count; }; };
			struct address_space *mapping;
			unsigned long index;
			unsigned long private;
		};
		struct {
			unsigned long pp_magic;
			void *pp;
			unsigned long _pp_mapping_pad;
			unsigned long dma_addr;
			union { unsigned long dma_addr_upper; atomic64_t pp_frag_count; };
		};
		struct {
			unsigned long compound_head;
#if SYNTH_GEN != 612
			unsigned char compound_dtor;
			unsigned char compound_order;
			atomic_t compound_mapcount;
			atomic_t compound_pincount;
			unsigned int compound_nr;
#endif
		};
		struct { unsigned long _pt_pad_1; void *pmd_huge_pte; unsigned long _pt_pad_2; void *ptl; };
#if !SYNTH_HAS_SLAB_STRUCT
		struct {	/* slab, slob and slub: in struct page before 5.17 */
			union {
				struct list_head slab_list;
				struct { struct page *next; int pages; int pobjects; };
			};
			struct kmem_cache *slab_cache;
			void *freelist;
			union { void *s_mem; unsigned long counters;
				struct { unsigned inuse:16; unsigned objects:15; unsigned frozen:1; }; };
		};
#endif
	};
	union { atomic_t _mapcount; unsigned int page_type; };
	atomic_t _refcount;
	unsigned long memcg_data;
};

#if SYNTH_HAS_FOLIO
struct folio {
	union {
		struct {
			unsigned long flags;
			union { struct list_head lru; struct { void *__filler; unsigned int mlock_count; }; };
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
#if SYNTH_GEN == 61
	unsigned char _folio_dtor;
	unsigned char _folio_order;
	atomic_t _total_mapcount;
	atomic_t _pincount;
	unsigned int _folio_nr_pages;
#else
	unsigned long _folio_avail;
	atomic_t _entire_mapcount;
	atomic_t _nr_pages_mapped;
	atomic_t _pincount;
	unsigned int _folio_nr_pages;
#endif
};
#endif

#if SYNTH_HAS_SLAB_STRUCT
struct slab {
	unsigned long __page_flags;
	union {
		struct list_head slab_list;
		struct { struct slab *next; int slabs; };
	};
	struct kmem_cache *slab_cache;
	void *freelist;
	union { unsigned long counters; struct { unsigned inuse:16; unsigned objects:15; unsigned frozen:1; }; };
	unsigned int __unused;
	atomic_t __page_refcount;
	unsigned long memcg_data;
};
#endif

#if SYNTH_HAS_SLAB_STRUCT
#define SYNTH_SLAB struct slab
#else
#define SYNTH_SLAB struct page
#endif
/* SLUB's per-CPU and per-node state: what explain counts free objects from */
struct kmem_cache_cpu { void **freelist; unsigned long tid; SYNTH_SLAB *slab; SYNTH_SLAB *partial; };
struct kmem_cache_node { unsigned int list_lock; unsigned long nr_partial; struct list_head partial;
	atomic_long_t nr_slabs; atomic_long_t total_objects; struct list_head full; };
struct kmem_cache {
	struct kmem_cache_cpu *cpu_slab;
	unsigned int flags;
	unsigned long min_partial;
	unsigned int size;
	unsigned int object_size;
	void *reciprocal_size;
	unsigned int offset;
	unsigned int cpu_partial;
	const char *name;
	struct list_head list;
	struct kmem_cache_node *node[64];
};
struct list_head slab_caches;

#if SYNTH_GEN == 4
struct skb_frag_struct { struct { struct page *p; } page; __u32 page_offset; __u32 size; };
typedef struct skb_frag_struct skb_frag_t;
#elif SYNTH_GEN == 612
typedef unsigned long netmem_ref;
struct skb_frag { netmem_ref netmem; unsigned int len; unsigned int offset; };
typedef struct skb_frag skb_frag_t;
#else
struct bio_vec { struct page *bv_page; unsigned int bv_len; unsigned int bv_offset; };
typedef struct bio_vec skb_frag_t;
#endif

#define MAX_SKB_FRAGS 17
struct sk_buff;
struct sock;

struct skb_shared_hwtstamps { u64 hwtstamp; };

struct skb_shared_info {
	__u8 flags;
	__u8 meta_len;
	__u8 nr_frags;
	__u8 tx_flags;
	unsigned short gso_size;
	unsigned short gso_segs;
	struct sk_buff *frag_list;
	struct skb_shared_hwtstamps hwtstamps;
	unsigned int gso_type;
	u32 tskey;
	atomic_t dataref;
	unsigned int xdp_frags_size;
	void *destructor_arg;
	skb_frag_t frags[MAX_SKB_FRAGS];
};

typedef unsigned int sk_buff_data_t;

struct sk_buff {
	union {
		struct {
			struct sk_buff *next;
			struct sk_buff *prev;
			union { void *dev; unsigned long dev_scratch; };
		};
		struct rb_node rbnode;
		struct list_head list;
	};
	union { struct sock *sk; int ip_defrag_offset; };
	union { u64 tstamp; u64 skb_mstamp_ns; };
	char cb[48] __attribute__((aligned(8)));
	union { struct { unsigned long _skb_refdst; void (*destructor)(struct sk_buff *); }; struct list_head tcp_tsorted_anchor; };
	unsigned long _nfct;
	unsigned int len, data_len;
	__u16 mac_len, hdr_len;
	__u16 queue_mapping;
	__u8 __cloned_offset[0];
	__u8 cloned:1, nohdr:1, fclone:2, peeked:1, head_frag:1, pfmemalloc:1, pp_recycle:1;
	__u8 active_extensions;
	struct {
		__u8 __pkt_type_offset[0];
		__u8 pkt_type:3, ignore_df:1, nf_trace:1, ip_summed:2, ooo_okay:1;
		__u8 l4_hash:1, sw_hash:1, wifi_acked_valid:1, wifi_acked:1, no_fcs:1, encapsulation:1, encap_hdr_csum:1, csum_valid:1;
		__u16 tc_index;
		union { u32 csum; struct { __u16 csum_start; __u16 csum_offset; }; };
		__u32 priority;
		int skb_iif;
		__u32 hash;
		__u16 vlan_proto, vlan_tci;
		unsigned int napi_id;
		__u32 mark;
		__u16 inner_transport_header, inner_network_header, inner_mac_header;
		__be16 protocol;
		__u16 transport_header, network_header, mac_header;
	} headers;
	sk_buff_data_t tail;
	sk_buff_data_t end;
	unsigned char *head, *data;
	unsigned int truesize;
	refcount_t users;
	void *extensions;
};

struct sk_buff_head {
	union {
		struct { struct sk_buff *next; struct sk_buff *prev; };
		struct { struct sk_buff *next; struct sk_buff *prev; } list;
	};
	__u32 qlen;
	int lock;
};

struct sock_common {
	union { u64 skc_addrpair; struct { __be32 skc_daddr; __be32 skc_rcv_saddr; }; };
	union { unsigned int skc_hash; __u16 skc_u16hashes[2]; };
	union { u32 skc_portpair; struct { __be16 skc_dport; __u16 skc_num; }; };
	unsigned short skc_family;
	volatile unsigned char skc_state;
	unsigned char skc_reuse:4, skc_reuseport:1, skc_ipv6only:1, skc_net_refcnt:1;
	int skc_bound_dev_if;
	union { struct hlist_node skc_bind_node; struct hlist_node skc_portaddr_node; };
	void *skc_prot;
	void *skc_net;
	struct in6_addr skc_v6_daddr;
	struct in6_addr skc_v6_rcv_saddr;
	atomic64_t skc_cookie;
	unsigned long skc_flags;
	int skc_dontcopy_begin[0];
	union { struct hlist_node skc_node; struct hlist_nulls_node skc_nulls_node; };
	int skc_tx_queue_mapping, skc_rx_queue_mapping;
	refcount_t skc_refcnt;
};

struct sock {
	struct sock_common __sk_common;
	void *sk_rx_dst;
	int sk_rx_dst_ifindex;
	u32 sk_rx_dst_cookie;
	int sk_lock[8];
	atomic_t sk_drops;
	int sk_rcvlowat;
	struct sk_buff_head sk_error_queue;
	struct sk_buff_head sk_receive_queue;
	struct { atomic_t rmem_alloc; int len; struct sk_buff *head; struct sk_buff *tail; } sk_backlog;
	int sk_forward_alloc;
	u32 sk_reserved_mem;
	unsigned int sk_ll_usec;
	unsigned int sk_napi_id;
	int sk_rcvbuf;
	void *sk_filter;
	void *sk_wq;
	void *sk_policy[2];
	void *sk_dst_cache;
	atomic_t sk_omem_alloc;
	int sk_sndbuf;
	int sk_wmem_queued;
	refcount_t sk_wmem_alloc;
	unsigned long sk_tsq_flags;
	union { struct sk_buff *sk_send_head; struct rb_root tcp_rtx_queue; };
	struct sk_buff_head sk_write_queue;
	__u32 sk_dst_pending_confirm;
	u32 sk_pacing_status;
	long sk_sndtimeo;
	unsigned int sk_padding:1, sk_kern_sock:1, sk_no_check_tx:1, sk_no_check_rx:1, sk_userlocks:4;
	u8 sk_pacing_shift;
	u16 sk_type;
	u16 sk_protocol;
	u16 sk_gso_max_segs;
	unsigned long sk_lingertime;
	void *sk_prot_creator;
	void *sk_socket;
	struct mem_cgroup *sk_memcg;
	struct page_frag sk_frag;
	void *sk_user_data;
	char sk_tail_pad[64];
};

struct inet_sock { struct sock sk; void *pinet6; __be32 inet_saddr; short inet_ttl_pad[2]; char inet_pad[48]; };
struct inet_connection_sock { struct inet_sock icsk_inet; void *icsk_accept_queue[4]; char icsk_pad[120]; };
struct tcp_sock {
	struct inet_connection_sock inet_conn;
	u16 tcp_header_len;
	u16 gso_segs;
	__be32 pred_flags;
	u64 bytes_received;
	u32 segs_in, data_segs_in, rcv_nxt, copied_seq;
	char tcp_pad1[200];
	struct rb_root out_of_order_queue;
	struct sk_buff *ooo_last_skb;
	char tcp_pad2[160];
};
struct udp_sock { struct inet_sock inet; int pending; char udp_pad[40]; };

struct inet_timewait_sock { struct sock_common __tw_common; int tw_timeout; char tw_pad[40]; };
struct request_sock { struct sock_common __req_common; struct request_sock *dl_next; char req_pad[40]; };
#ifndef SYNTH_EHASH_PAD
#define SYNTH_EHASH_PAD 0
#endif
struct inet_ehash_bucket { struct hlist_nulls_head chain;
#if SYNTH_EHASH_PAD
	char pad[SYNTH_EHASH_PAD];
#endif
};
#if SYNTH_HAS_SLAB_STRUCT
struct inet_listen_hashbucket { int lock; struct hlist_nulls_head nulls_head; };
#else
/* before 5.19: listeners on nulls lists in listening_hash[32]; lhash2 chains icsk_listen_portaddr_node */
struct inet_listen_hashbucket { int lock; unsigned int count; union { struct hlist_head head; struct hlist_nulls_head nulls_head; }; };
#define INET_LHTABLE_SIZE 32
#endif
struct inet_hashinfo {
	struct inet_ehash_bucket *ehash;
	void *ehash_locks;
	unsigned int ehash_mask;
	unsigned int ehash_locks_mask;
	void *bind_bucket_cachep;
	void *bhash;
	unsigned int bhash_size;
	unsigned int lhash2_mask;
	struct inet_listen_hashbucket *lhash2;
#if !SYNTH_HAS_SLAB_STRUCT
	struct inet_listen_hashbucket listening_hash[INET_LHTABLE_SIZE] __attribute__((aligned(64)));
#endif
	char pershard_pad[8];
};
struct udp_hslot { struct hlist_head head; int count; int lock; } __attribute__((aligned(16)));
struct udp_table { struct udp_hslot *hash; struct udp_hslot *hash2; unsigned int mask; unsigned int log; };

typedef unsigned short __kernel_sa_family_t;
struct sockaddr_un { __kernel_sa_family_t sun_family; char sun_path[108]; };
struct unix_address { refcount_t refcnt; int len; struct sockaddr_un name[]; };
struct unix_sock {
	struct sock sk;
	struct unix_address *addr;
	void *path_dentry, *path_mnt;
	char unix_pad[64];
	struct sock *peer;
};

struct file_operations { void *owner; void *llseek; void *read; void *write; char fop_pad[200]; };
struct qstr { union { struct { u32 hash; u32 len; }; u64 hash_len; }; const unsigned char *name; };
struct dentry { unsigned int d_flags; int d_seq; struct hlist_node d_hash; struct dentry *d_parent; struct qstr d_name; void *d_inode; unsigned char d_iname[32]; };
struct vfsmount { struct dentry *mnt_root; void *mnt_sb; int mnt_flags; };
struct path { struct vfsmount *mnt; struct dentry *dentry; };
/* pipes: a pipe file's private_data is its pipe_inode_info, a ring of ring_size (a power of two)
   pipe_buffers used from tail to head (free-running counters), and a spare tmp_page. */
struct pipe_buffer { struct page *page; unsigned int offset, len; const void *ops; unsigned int flags;
	unsigned long private; };
struct pipe_inode_info { char mutex_pad[32]; char rd_wait[24]; char wr_wait[24]; unsigned int head; unsigned int tail;
	unsigned int max_usage; unsigned int ring_size; unsigned int nr_accounted; unsigned int readers, writers, files;
	unsigned int r_counter, w_counter; _Bool poll_usage; struct page *tmp_page; void *fasync_readers;
	void *fasync_writers; struct pipe_buffer *bufs; void *user; };
/* perf ring buffers (kernel/events/internal.h): an event file's private_data is its perf_event,
   whose rb holds the control page, nr_pages data pages and the AUX pages, each a direct-map address */
struct perf_buffer { int refcount; int nr_pages; int overwrite; int paused; char pb_pad[96]; int aux_nr_pages;
	void **aux_pages; void *aux_priv; void *user_page; void *data_pages[]; };
struct perf_event { char pe_pad[200]; struct perf_buffer *rb; };
/* xarray (include/linux/xarray.h): 64-slot nodes, internal entries tagged 2 in the low bits */
struct xarray { unsigned int xa_lock; unsigned int xa_flags; void *xa_head; };
struct xa_node { unsigned char shift, offset, count, nr_values; struct xa_node *parent; struct xarray *array;
	char xa_priv[16]; void *slots[64]; unsigned long marks[3]; };
/* page_pool (6.8): the pool's device, NET_PTR_POISON once it unregistered */
struct net_device { char name[16]; int ifindex; char nd_pad[44]; };
/* 6.8+: user.detach_time, set when the driver destroys the pool (page_pool_detached) */
struct page_pool { char pp_fast[192]; struct { void *pp_params_slow; struct net_device *netdev; } slow;
	struct { void *list_next, *list_pprev; unsigned long long detach_time; unsigned int napi_id, id; } user; };
/* io_uring (6.1): an io_uring file's private_data is its io_ring_ctx, whose rings and SQE array
   are direct-map addresses of compound pages (io_mem_alloc) */
struct io_rings { unsigned int sq_head, sq_tail; };
struct io_uring_sqe { unsigned char opcode; char sqe_pad[63]; };
struct io_ring_ctx { struct { unsigned int flags; unsigned int ctx_bits; struct io_rings *rings; };
	struct { char sub_pad[40]; unsigned int *sq_array; struct io_uring_sqe *sq_sqes; }; };
struct inode { umode_t i_mode; unsigned short i_opflags; unsigned int i_uid, i_gid; unsigned int i_flags; char inode_pad[80]; unsigned long i_ino; };

struct socket {
	socket_state state;
	short type;
	unsigned long flags;
	struct file *file;
	struct sock *sk;
	const void *ops;
	char socket_pad[64];
};

struct file {
	union { struct list_head f_llist; void *f_rcuhead; unsigned int f_iocb_flags; };
	struct path f_path;
	struct inode *f_inode;
	const struct file_operations *f_op;
	int f_lock;
	atomic64_t f_count;
	unsigned int f_flags;
	fmode_t f_mode;
	char file_pad[96];
	void *private_data;
	void *f_mapping;
};

struct fdtable { unsigned int max_fds; struct file **fd; unsigned long *close_on_exec; unsigned long *open_fds; unsigned long *full_fds_bits; void *rcu[2]; };
struct files_struct { atomic_t count; int resize_in_progress; void *resize_wait[3]; struct fdtable *fdt; struct fdtable fdtab; int file_lock; unsigned int next_fd; };

/* cgroups: a task's css_set names its cgroup on the default (v2) hierarchy (dfl_cgrp), whose
   kernfs node chain up to the root gives the path (kernfs_node.parent; `__parent` from 6.15). */
struct kernfs_node { int count; int active; struct kernfs_node *parent; const char *name; char kn_pad[80]; };
struct cgroup { char self_pad[208]; unsigned long flags; int level; struct kernfs_node *kn; char cg_pad[96]; };
struct css_set { void *subsys[14]; int refcount; struct cgroup *dfl_cgrp; char cs_pad[120]; };

struct task_struct {
	unsigned int __state;
	void *stack;
	refcount_t usage;
	unsigned int flags;
	char sched_pad[600];
	struct list_head tasks;
	char mm_pad[120];
	pid_t pid;
	pid_t tgid;
	struct task_struct *real_parent;
	struct task_struct *parent;
	struct list_head children;
	struct list_head sibling;
	struct task_struct *group_leader;
	char pid_pad[64];
	struct list_head thread_group;
	struct list_head thread_node;
	char cred_pad[200];
	char comm[16];
	char fs_pad[40];
	void *fs;
	struct files_struct *files;
	char signal_pad[200];
	struct css_set *cgroups;
	char frag_pad[40];
	struct page_frag task_frag;
	char tail_pad[56];
};

struct new_utsname { char sysname[65]; char nodename[65]; char release[65]; char version[65]; char machine[65]; char domainname[65]; };
struct uts_namespace { struct new_utsname name; void *user_ns; };

/* Memory counters (meminfo). Before 5.14 a zone's per-CPU deltas sit in its `pageset`, and
   NR_PAGETABLE / NR_KERNEL_STACK_KB are zone counters; from 5.14 `per_cpu_zonestats`, and they
   moved to the node enum. Aliases (`*_LRU_BASE`) and the item counts as in the kernel. */
enum zone_stat_item {
	NR_FREE_PAGES, NR_ZONE_LRU_BASE, NR_ZONE_INACTIVE_ANON = NR_ZONE_LRU_BASE, NR_ZONE_ACTIVE_ANON,
	NR_ZONE_INACTIVE_FILE, NR_ZONE_ACTIVE_FILE, NR_ZONE_UNEVICTABLE, NR_ZONE_WRITE_PENDING, NR_MLOCK,
#if SYNTH_GEN == 4 || SYNTH_GEN == 510
	NR_PAGETABLE, NR_KERNEL_STACK_KB,
#endif
	NR_BOUNCE, NR_FREE_CMA_PAGES, NR_VM_ZONE_STAT_ITEMS };
enum node_stat_item {
	NR_LRU_BASE, NR_INACTIVE_ANON = NR_LRU_BASE, NR_ACTIVE_ANON, NR_INACTIVE_FILE, NR_ACTIVE_FILE,
	NR_UNEVICTABLE, NR_SLAB_RECLAIMABLE_B, NR_SLAB_UNRECLAIMABLE_B, NR_ISOLATED_ANON, NR_ISOLATED_FILE,
	NR_ANON_MAPPED, NR_FILE_MAPPED, NR_FILE_PAGES, NR_SHMEM,
#if SYNTH_GEN != 4 && SYNTH_GEN != 510
	NR_KERNEL_STACK_KB, NR_PAGETABLE,
#endif
	NR_KERNEL_MISC_RECLAIMABLE, NR_VM_NODE_STAT_ITEMS };
#if SYNTH_GEN == 4 || SYNTH_GEN == 510
struct per_cpu_pageset { int count, high, batch; struct list_head lists[3]; signed char stat_threshold;
	signed char vm_stat_diff[NR_VM_ZONE_STAT_ITEMS]; };
#else
struct per_cpu_zonestat { signed char vm_stat_diff[NR_VM_ZONE_STAT_ITEMS]; signed char stat_threshold; };
#endif
struct per_cpu_nodestat { signed char stat_threshold; signed char vm_node_stat_diff[NR_VM_NODE_STAT_ITEMS]; };
/* memory cgroups (6.1's rstat shape): the tree by css children/sibling from root_mem_cgroup;
   hierarchical counters in memcg_vmstats.state[], what children's flushes left for this one in
   state_pending[], and per-CPU cumulative state[] against state_prev[] (what a flush took). A
   page names its memcg in memcg_data (MEMCG_DATA_KMEM: an obj_cgroup). */
enum memcg_stat_item { MEMCG_SWAP = NR_VM_NODE_STAT_ITEMS, MEMCG_SOCK, MEMCG_PERCPU_B, MEMCG_VMALLOC,
	MEMCG_KMEM, MEMCG_ZSWAP_B, MEMCG_ZSWAPPED, MEMCG_NR_STAT };
enum page_memcg_data_flags { MEMCG_DATA_OBJCGS = 1UL << 0, MEMCG_DATA_KMEM = 1UL << 1,
	__NR_MEMCG_DATA_FLAGS = 1UL << 2 };
enum { CSS_NO_REF = (1 << 0), CSS_ONLINE = (1 << 1), CSS_RELEASED = (1 << 2), CSS_VISIBLE = (1 << 3),
	CSS_DYING = (1 << 4) };
struct cgroup_subsys_state { struct cgroup *cgroup; void *ss; char refcnt[16]; struct list_head sibling;
	struct list_head children; char rstat_css_node[16]; int id; unsigned int flags; unsigned long serial_nr;
	char online_cnt_pad[72]; struct cgroup_subsys_state *parent; };
struct page_counter { atomic_long_t usage; unsigned long min, low, high, max; struct page_counter *parent;
	char pc_pad[48]; };
struct memcg_vmstats { long state[MEMCG_NR_STAT]; unsigned long events[4]; long state_pending[MEMCG_NR_STAT];
	unsigned long events_pending[4]; };
struct memcg_vmstats_percpu { long state[MEMCG_NR_STAT]; unsigned long events[2]; long state_prev[MEMCG_NR_STAT];
	unsigned long events_prev[2]; unsigned long nr_page_events; unsigned long targets[2]; };
struct obj_cgroup { char refcnt[16]; struct mem_cgroup *memcg; atomic_t nr_charged_bytes; char oc_pad[20]; };
struct mem_cgroup { struct cgroup_subsys_state css; int id[2]; struct page_counter memory; char memcg_pad1[152];
	struct memcg_vmstats *vmstats; char memcg_pad2[40]; struct obj_cgroup *objcg; char memcg_pad3[24];
	struct memcg_vmstats_percpu *vmstats_percpu; char memcg_pad4[88]; };
struct zone {
	unsigned long _watermark[4];
	char pad[40];
#if SYNTH_GEN == 4 || SYNTH_GEN == 510
	struct per_cpu_pageset *pageset;
#else
	struct per_cpu_zonestat *per_cpu_zonestats;
#endif
	char pad2[200];
	const char *name;
};
struct pglist_data { struct zone node_zones[4]; char pad[128]; struct per_cpu_nodestat *per_cpu_nodestats; int node_id; };
struct cpumask { unsigned long bits[1]; };
struct pglist_data *node_data[64];
unsigned long __per_cpu_offset[64];
struct cpumask __cpu_online_mask;
struct cpumask __cpu_possible_mask;
struct mem_cgroup *root_mem_cgroup;
unsigned int nr_cpu_ids;
unsigned int nr_node_ids;
atomic_long_t _totalram_pages;
atomic_long_t nr_vmalloc_pages;
unsigned long pcpu_nr_populated;
int pcpu_nr_units;
unsigned long totalreserve_pages;
atomic_long_t tcp_memory_allocated;
/* sockstat's socket count: a percpu_counter (count plus every CPU's s32) */
struct percpu_counter { unsigned int lock; long long count; struct list_head list; int *counters; };
struct percpu_counter tcp_sockets_allocated;

/* vmalloc areas: the census attributes pages of vm_struct.pages[] to "vmalloc". */
struct vm_struct { struct vm_struct *next; void *addr; unsigned long size; unsigned long flags;
	struct page **pages; unsigned int page_order; unsigned int nr_pages; unsigned long phys_addr; const void *caller; };
struct vmap_area { unsigned long va_start; unsigned long va_end; struct rb_node rb_node; struct list_head list;
	union { unsigned long subtree_max_size; struct vm_struct *vm; }; };
struct list_head vmap_area_list;

/* The kernel's globals the walk starts from. Sections and addresses come from the link. */
void start_kernel(void) { }
struct task_struct init_task __attribute__((aligned(64)));
struct css_set init_css_set;
const struct file_operations socket_file_ops = { .owner = 0 };
const struct file_operations pipefifo_fops = { .owner = 0 };
const struct file_operations perf_fops = { .owner = 0 };
const struct file_operations io_uring_fops = { .owner = 0 };
const struct file_operations ext4_file_operations = { .owner = 0 };
unsigned long page_offset_base;
unsigned long vmemmap_base;
unsigned long vmalloc_base;
unsigned long max_pfn;
pgd_t init_top_pgt[512] __attribute__((aligned(4096)));
struct kmem_cache *skbuff_head_cache;
struct inet_hashinfo tcp_hashinfo;
struct udp_table udp_table;
struct kmem_cache *skbuff_fclone_cache;
struct uts_namespace init_uts_ns = { .name = { .sysname = "Linux", .release = SYNTH_RELEASE, .machine = "x86_64" } };
const char linux_banner[] = "Linux version " SYNTH_RELEASE " (skbwalk synthetic kernel) #1 SMP\n";
/* The counter arrays last, each on a page of its own (tests drop their pages from filtered dumps). */
atomic_long_t vm_zone_stat[NR_VM_ZONE_STAT_ITEMS] __attribute__((aligned(4096)));
char vm_zone_stat_pad[4096 - sizeof(atomic_long_t) * NR_VM_ZONE_STAT_ITEMS];
atomic_long_t vm_node_stat[NR_VM_NODE_STAT_ITEMS] __attribute__((aligned(4096)));
char vm_node_stat_pad[4096 - sizeof(atomic_long_t) * NR_VM_NODE_STAT_ITEMS];

#ifdef SYNTH_OFFSETS
#include <stdio.h>
#define O(T, M) printf("%s.%s %zu\n", #T, #M, offsetof(struct T, M))
#define S(T) printf("%s %zu\n", #T, sizeof(struct T))
#define BIT(T, F) do { struct T x = {0}; unsigned char *p = (unsigned char *)&x; x.F = 1; \
	for (size_t i = 0; i < sizeof x; i++) if (p[i]) { printf("%s.%s@bit %zu\n", #T, #F, i * 8 + __builtin_ctz(p[i])); break; } } while (0)
int main(void)
{
	S(page);
#if SYNTH_HAS_FOLIO
	S(folio);
#endif
#if SYNTH_HAS_SLAB_STRUCT
	S(slab);
	printf("slab_cache.at %zu\n", offsetof(struct slab, slab_cache));
#else
	printf("slab_cache.at %zu\n", offsetof(struct page, slab_cache));
	O(inet_hashinfo, listening_hash);
#endif
#if SYNTH_GEN == 612
	O(page, page_type);
	printf("PGTY_slab %d\n", PGTY_slab);
#else
	printf("PG_slab %d\n", PG_slab);
#endif
	S(kmem_cache); S(sk_buff); S(skb_shared_info); S(sk_buff_head); printf("frag %zu\n", sizeof(skb_frag_t));
	S(sock); S(tcp_sock); S(unix_sock); S(udp_sock); S(socket); S(file); S(fdtable); S(files_struct); S(task_struct);
	S(rb_node); S(dentry); S(inode); S(unix_address);
	O(page, flags); O(page, compound_head); O(page, _refcount); O(page, private);
	printf("page.type_word %zu\n", offsetof(struct page, page_type));
	O(kmem_cache, size); O(kmem_cache, name);
	O(kmem_cache, cpu_slab); O(kmem_cache, node); O(kmem_cache, list);
	S(kmem_cache_node); O(kmem_cache_node, partial); O(kmem_cache_node, total_objects); S(kmem_cache_cpu);
	O(kmem_cache_cpu, partial);
	O(percpu_counter, count); O(percpu_counter, counters);
#if SYNTH_HAS_SLAB_STRUCT
	printf("slabobj.list %zu\nslabobj.counters %zu\n", offsetof(struct slab, slab_list), offsetof(struct slab, counters));
#else
	printf("slabobj.list %zu\nslabobj.counters %zu\n", offsetof(struct page, slab_list), offsetof(struct page, counters));
#endif
	/* Generation-neutral keys for the fixture builder: where a frag's fields are, and where a
	   compound page's order byte is, counted from the head's struct page. */
#if SYNTH_GEN == 4
	printf("frag.page %zu\nfrag.offset %zu\nfrag.len %zu\n", offsetof(skb_frag_t, page.p), offsetof(skb_frag_t, page_offset), offsetof(skb_frag_t, size));
	printf("order.at %zu\n", sizeof(struct page) + offsetof(struct page, compound_order));
#elif SYNTH_GEN == 612
	printf("frag.page %zu\nfrag.offset %zu\nfrag.len %zu\n", offsetof(skb_frag_t, netmem), offsetof(skb_frag_t, offset), offsetof(skb_frag_t, len));
	printf("order.at %zu\n", offsetof(struct folio, _flags_1));
#else
	printf("frag.page %zu\nfrag.offset %zu\nfrag.len %zu\n", offsetof(skb_frag_t, bv_page), offsetof(skb_frag_t, bv_offset), offsetof(skb_frag_t, bv_len));
	printf("order.at %zu\n", sizeof(struct page) + offsetof(struct page, compound_order));
#if SYNTH_HAS_FOLIO
	O(folio, _folio_order);
#endif
#endif
	O(skb_shared_info, nr_frags); O(skb_shared_info, frag_list); O(skb_shared_info, frags); O(skb_shared_info, dataref);
	O(sk_buff, next); O(sk_buff, prev); O(sk_buff, rbnode); O(sk_buff, sk); O(sk_buff, len); O(sk_buff, data_len);
	O(sk_buff, tail); O(sk_buff, end); O(sk_buff, head); O(sk_buff, data); O(sk_buff, truesize); O(sk_buff, users);
	O(sk_buff, cb);
	BIT(sk_buff, head_frag); BIT(sk_buff, cloned);
	{ struct sk_buff x = {0}; unsigned char *p = (unsigned char *)&x; x.fclone = 3;
	  for (size_t i = 0; i < sizeof x; i++) if (p[i]) { printf("sk_buff.fclone@bit %zu\n", i * 8 + __builtin_ctz(p[i])); break; } }
	O(sk_buff_head, next); O(sk_buff_head, prev); O(sk_buff_head, qlen);
	O(rb_node, __rb_parent_color); O(rb_node, rb_right); O(rb_node, rb_left);
	O(sock, __sk_common.skc_daddr); O(sock, __sk_common.skc_rcv_saddr); O(sock, __sk_common.skc_dport);
	O(sock, __sk_common.skc_num); O(sock, __sk_common.skc_family); O(sock, __sk_common.skc_state);
	O(sock, __sk_common.skc_v6_daddr); O(sock, __sk_common.skc_v6_rcv_saddr);
	O(sock, sk_error_queue); O(sock, sk_receive_queue); O(sock, sk_backlog.rmem_alloc); O(sock, sk_rcvbuf);
	O(sock, sk_sndbuf); O(sock, sk_wmem_queued); O(sock, tcp_rtx_queue); O(sock, sk_write_queue);
	O(sock, sk_type); O(sock, sk_protocol); O(sock, sk_socket);
	O(sock, __sk_common.skc_nulls_node); O(sock, __sk_common.skc_node);
	S(inet_ehash_bucket); S(inet_listen_hashbucket); S(udp_hslot); S(inet_timewait_sock); S(request_sock);
	O(inet_hashinfo, ehash); O(inet_hashinfo, ehash_mask); O(inet_hashinfo, lhash2); O(inet_hashinfo, lhash2_mask);
	O(inet_listen_hashbucket, nulls_head); O(udp_table, hash); O(udp_table, mask); O(udp_hslot, head);
	O(tcp_sock, out_of_order_queue); O(unix_sock, addr); O(unix_sock, peer);
	O(unix_address, len); O(unix_address, name);
	O(socket, state); O(socket, type); O(socket, file); O(socket, sk);
	O(file, f_path.dentry); O(file, f_inode); O(file, f_op); O(file, f_count); O(file, private_data); O(file, f_mode);
	O(dentry, d_name.name); O(dentry, d_name.len); O(dentry, d_parent); O(inode, i_mode);
	O(fdtable, max_fds); O(fdtable, fd); O(files_struct, fdt); O(files_struct, fdtab);
	O(task_struct, tasks); O(task_struct, pid); O(task_struct, tgid); O(task_struct, group_leader);
	O(task_struct, thread_group); O(task_struct, comm); O(task_struct, files);
	O(task_struct, cgroups); O(css_set, dfl_cgrp); O(cgroup, kn); O(kernfs_node, parent);
	O(kernfs_node, name); S(css_set); S(cgroup); S(kernfs_node);
	O(mem_cgroup, css.cgroup); O(mem_cgroup, css.sibling); O(mem_cgroup, css.children); O(mem_cgroup, css.flags);
	O(mem_cgroup, css.parent); O(mem_cgroup, memory.usage); O(mem_cgroup, vmstats); O(mem_cgroup, vmstats_percpu);
	O(mem_cgroup, objcg); O(memcg_vmstats, state); O(memcg_vmstats, state_pending); O(memcg_vmstats_percpu, state);
	O(memcg_vmstats_percpu, state_prev); O(obj_cgroup, memcg); O(sock, sk_memcg); O(page, memcg_data);
	S(mem_cgroup); S(memcg_vmstats); S(memcg_vmstats_percpu); S(obj_cgroup);
	O(task_struct, task_frag.page); O(sock, sk_frag.page); O(pipe_inode_info, head); O(pipe_inode_info, tail);
	O(pipe_inode_info, ring_size); O(pipe_inode_info, tmp_page); O(pipe_inode_info, bufs); O(pipe_buffer, page);
	S(pipe_inode_info); S(pipe_buffer); O(page, pp_magic); O(page, pp);
	O(perf_event, rb); O(perf_buffer, nr_pages); O(perf_buffer, aux_nr_pages); O(perf_buffer, aux_pages);
	O(perf_buffer, user_page); O(perf_buffer, data_pages); S(perf_event); S(perf_buffer);
	O(xarray, xa_head); O(xa_node, shift); O(xa_node, slots); S(xarray); S(xa_node);
	O(page_pool, slow.netdev); O(page_pool, user.detach_time); S(page_pool); O(net_device, name); O(net_device, ifindex); S(net_device);
	O(io_ring_ctx, flags); O(io_ring_ctx, rings); O(io_ring_ctx, sq_sqes); S(io_ring_ctx);
	printf("memcg.MEMCG_SOCK %d\nmemcg.MEMCG_KMEM %d\nmemcg.MEMCG_PERCPU_B %d\n", MEMCG_SOCK, MEMCG_KMEM, MEMCG_PERCPU_B);
	printf("CSS_ONLINE %d\nMEMCG_DATA_KMEM %d\nPG_lru %d\nPG_swapbacked %d\n", CSS_ONLINE, (int)MEMCG_DATA_KMEM, PG_lru, PG_swapbacked);
	printf("PG_head %d\nMAX_SKB_FRAGS %d\n", PG_head, MAX_SKB_FRAGS);
	printf("PG_reserved %d\n", PG_reserved);
#if SYNTH_GEN == 612
	printf("buddy.type %u\n", (unsigned)PGTY_buddy << 24);
#else
	printf("buddy.type %u\n", 0xffffff7fu);
#endif
	/* meminfo: each counter's index ("zone.NAME" / "node.NAME"), where the deltas are */
#define EZ(N) printf("zone.%s %d\n", #N, N)
#define EN(N) printf("node.%s %d\n", #N, N)
	EZ(NR_FREE_PAGES); EZ(NR_ZONE_INACTIVE_ANON); EZ(NR_ZONE_ACTIVE_ANON); EZ(NR_MLOCK);
	EZ(NR_VM_ZONE_STAT_ITEMS);
	EN(NR_INACTIVE_ANON); EN(NR_ACTIVE_ANON); EN(NR_INACTIVE_FILE); EN(NR_ACTIVE_FILE); EN(NR_UNEVICTABLE);
	EN(NR_SLAB_RECLAIMABLE_B); EN(NR_SLAB_UNRECLAIMABLE_B); EN(NR_ANON_MAPPED); EN(NR_FILE_PAGES);
	EN(NR_SHMEM); EN(NR_KERNEL_MISC_RECLAIMABLE); EN(NR_VM_NODE_STAT_ITEMS);
#if SYNTH_GEN == 4 || SYNTH_GEN == 510
	EZ(NR_PAGETABLE); EZ(NR_KERNEL_STACK_KB);
	O(zone, pageset); O(per_cpu_pageset, vm_stat_diff);
#else
	EN(NR_PAGETABLE); EN(NR_KERNEL_STACK_KB);
	O(zone, per_cpu_zonestats); O(per_cpu_zonestat, vm_stat_diff);
#endif
	S(zone); S(pglist_data); O(pglist_data, node_zones); O(pglist_data, per_cpu_nodestats);
	O(per_cpu_nodestat, vm_node_stat_diff); O(task_struct, stack);
	S(vm_struct); S(vmap_area); O(vm_struct, pages); O(vm_struct, nr_pages); O(vm_struct, addr); O(vm_struct, size);
	O(vmap_area, list); O(vmap_area, vm); O(vmap_area, va_start); O(vmap_area, va_end);
	return 0;
}
#endif
