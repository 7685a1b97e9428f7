import CNI
import IPAM

PluginMain.run(HostLocal())
