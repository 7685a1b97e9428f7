import CNI

PluginMain.run(Ptp6())
