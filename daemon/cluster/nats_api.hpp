// NatsApi: the nats.c functions coordd calls, looked up in libnats when the
// first ClusterLink is made rather than linked: a coordd without --cluster
// maps no libnats, libssl or libcrypto at all (2 MiB of RSS, measured), and
// runs where libnats is not even installed. Only nats_bridge.cpp calls
// through it.
#pragma once

#include <nats/nats.h>

#include <string>

namespace coordd {

// Every function of nats.c that nats_bridge.cpp calls.
#define COORDD_NATS_FUNCTIONS(X)             \
  X(jsConsumerConfig_Init)                   \
  X(jsConsumerInfo_Destroy)                  \
  X(jsCtx_Destroy)                           \
  X(jsMsgMetaData_Destroy)                   \
  X(jsOptions_Init)                          \
  X(jsPubAck_Destroy)                        \
  X(jsPubOptions_Init)                       \
  X(jsStreamConfig_Init)                     \
  X(jsStreamInfo_Destroy)                    \
  X(jsSubOptions_Init)                       \
  X(js_AddConsumer)                          \
  X(js_AddStream)                            \
  X(js_CreateKeyValue)                       \
  X(js_DeleteConsumer)                       \
  X(js_GetLastMsg)                           \
  X(js_GetStreamInfo)                        \
  X(js_KeyValue)                             \
  X(js_Publish)                              \
  X(js_PublishMsgAsync)                      \
  X(js_Subscribe)                            \
  X(kvConfig_Init)                           \
  X(kvEntry_Destroy)                         \
  X(kvEntry_Revision)                        \
  X(kvEntry_Value)                           \
  X(kvEntry_ValueLen)                        \
  X(kvStore_CreateString)                    \
  X(kvStore_Delete)                          \
  X(kvStore_Destroy)                         \
  X(kvStore_Get)                             \
  X(kvStore_UpdateString)                    \
  X(natsConnection_Close)                    \
  X(natsConnection_Connect)                  \
  X(natsConnection_Destroy)                  \
  X(natsConnection_GetConnectedUrl)          \
  X(natsConnection_GetMaxPayload)            \
  X(natsConnection_JetStream)                \
  X(natsConnection_Publish)                  \
  X(natsConnection_PublishRequestString)     \
  X(natsConnection_PublishString)            \
  X(natsConnection_RequestString)            \
  X(natsConnection_Status)                   \
  X(natsConnection_Subscribe)                \
  X(natsMsgHeader_Get)                       \
  X(natsMsgHeader_Set)                       \
  X(natsMsg_Create)                          \
  X(natsMsg_Destroy)                         \
  X(natsMsg_GetData)                         \
  X(natsMsg_GetDataLength)                   \
  X(natsMsg_GetMetaData)                     \
  X(natsMsg_GetReply)                        \
  X(natsMsg_GetSequence)                     \
  X(natsMsg_GetSubject)                      \
  X(natsOptions_Create)                      \
  X(natsOptions_Destroy)                     \
  X(natsOptions_LoadCATrustedCertificates)   \
  X(natsOptions_LoadCertificatesChain)       \
  X(natsOptions_SetDisconnectedCB)           \
  X(natsOptions_SetErrorHandler)             \
  X(natsOptions_SetIgnoreDiscoveredServers)  \
  X(natsOptions_SetMaxPingsOut)              \
  X(natsOptions_SetMaxReconnect)             \
  X(natsOptions_SetName)                     \
  X(natsOptions_SetNoRandomize)              \
  X(natsOptions_SetPingInterval)             \
  X(natsOptions_SetReconnectWait)            \
  X(natsOptions_SetReconnectedCB)            \
  X(natsOptions_SetRetryOnFailedConnect)     \
  X(natsOptions_SetSendAsap)                 \
  X(natsOptions_SetServers)                  \
  X(natsOptions_SetTimeout)                  \
  X(natsOptions_SetUserCredentialsFromFiles) \
  X(natsStatus_GetText)                      \
  X(natsSubscription_Destroy)                \
  X(natsSubscription_GetConsumerInfo)        \
  X(natsSubscription_Unsubscribe)            \
  X(nats_CloseAndWait)                       \
  X(nats_GetLastError)

struct NatsApi {
#define COORDD_NATS_FIELD(name) decltype(&::name) name = nullptr;
  COORDD_NATS_FUNCTIONS(COORDD_NATS_FIELD)
#undef COORDD_NATS_FIELD
};

// Loads libnats (its soname, fixed at build time: COORDD_LIBNATS) once, and
// the table with it; later calls return the same table. Null, with why in
// `error`, when the library or one of the functions is missing. Thread-safe.
const NatsApi* load_nats_api(std::string& error);

}  // namespace coordd
