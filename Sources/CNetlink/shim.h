/* Keep these two first: glibc's headers must come before the kernel UAPI ones so that
 * linux/libc-compat.h suppresses the kernel's duplicate in6_addr / ifreq / IFF_* definitions. */
#include <netinet/in.h>
#include <net/if.h>
#include <sys/socket.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <netlink/msg.h>
#include <netlink/attr.h>
#include <netlink/errno.h>
#include <netlink/handlers.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/if_link.h>
#include <linux/if_addr.h>
#include <linux/if_arp.h>
#include <linux/if_bridge.h>
#include <linux/veth.h>
#include <linux/neighbour.h>
