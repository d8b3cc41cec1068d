"""Network building blocks shared by two or more notebooks (e.g. the configurable 2-D U-Net in ``nn.unet``)."""
