"""Local images: the read model and the store of images, references and layers."""
