// Public surface of the stack catalog: settings in, container specs out.
export { renderStack, enabledServices, type RenderOptions } from './render'
export { checkSettings, settingsProblems, minimumMemoryBytes, type SettingsEnv } from './validate'
export { probeDataDir, type DataDirProbe } from './disk'
export { estimateDiskBytes, estimateDisk, chainSizes, type DiskEstimate } from './disk-estimates'
export { serviceInfoList } from './service-info'
export { stackCatalog, basicChecks, type StackCatalog, type StackCatalogOptions } from './catalog'
export { stackPaths, enginePaths, stackDataDir, type StackPaths, type EnginePaths } from './paths'
export { catalogImages, pinBuiltImage, type CatalogImage, type LocalBuild } from './images'
export {
  macaroonFor,
  macaroonPath,
  macaroonDir,
  macaroonConsumers,
  type MacaroonConsumer,
  type MacaroonGrant,
} from './macaroons'
export { networkParams, servicePorts } from './networks'
export type * from './spec'
