import CNI

PluginMain.run(Bridge6())
