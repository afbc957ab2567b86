/* Linked first: forward declarations and incomplete uses of structs that gen61.c defines, so
 * the first entries of these names in .debug_info are DW_AT_declaration ones. */
struct kmem_cache;
struct sk_buff_head;
struct sk_buff;

struct dup_user {
	struct sk_buff_head *queue;
	struct kmem_cache *cache;
	struct sk_buff *skb;
};

struct dup_user g_dup_user;
struct kmem_cache *g_cache_ptr;
